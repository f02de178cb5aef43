/*
 * fuzz_component.c - loading mutated components: any bytes either fail with
 * MW_ERR_COMPONENT (not a component, or not one of the marie:node world)
 * or MW_ERR_NOMEM, or load; a component that loads is described and run
 * once under tight limits. Never a crash, a hang or a leak.
 *
 * Seeds (fuzz/corpus/component): two hand-written components of under
 * 1 KiB that fit the world (the .wat files in fuzz/seeds, made with
 * `wasm-tools parse`)
 * and a few of the C test components. Run with -max_len=65536 or more.
 */
#include <stdlib.h>
#include <string.h>

#include "marie_wasm.h"

static mw_engine_t *engine;
static mw_permissions_t *perms;
static mw_request_t *request;

/* One engine for the whole run: per-input work is loading only. No pool,
 * so ASan's shadow memory and the pool's reservation do not meet. */
static void init(void) {
  mw_engine_config_t *cfg = mw_engine_config_new();
  mw_engine_config_pooling(cfg, false);
  if (mw_engine_new(cfg, &engine)) abort();
  mw_engine_config_free(cfg);
  static const char p[] =
      "{\"max_fuel\": 1000000, \"timeout_ms\": 200, \"max_memory_mb\": 16, "
      "\"max_output_bytes\": 65536, \"max_log_bytes\": 4096}";
  if (mw_permissions_from_json(p, sizeof p - 1, &perms)) abort();
  if (mw_request_new(&request)) abort();
  static const char item[] = "{\"k\": \"v\"}";
  if (mw_request_add_item(request, item, sizeof item - 1, (const uint8_t *)"b", 1)) abort();
  mw_request_set_permissions(request, perms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) init();
  mw_component_t *c = NULL;
  mw_error_t *err = mw_component_new(engine, data, size, &c);
  if (err) {
    mw_status_t st = mw_error_status(err);
    if (st != MW_ERR_COMPONENT && st != MW_ERR_NOMEM) abort();
    if (!*mw_error_message(err)) abort();
    mw_error_free(err);
    return 0;
  }
  char *json = NULL;
  if (mw_component_describe(c, &json)) abort();
  free(json);
  mw_result_t *r = NULL;
  err = mw_execute(engine, c, request, &r);
  /* The limits bound every run; the outcome itself may be anything. */
  if (err && mw_error_status(err) != MW_ERR_NOMEM) abort();
  if (r) free(mw_result_to_json(r, MW_JSON_STATS | MW_JSON_LOGS | MW_JSON_EVENTS));
  mw_result_free(r);
  mw_error_free(err);
  mw_component_free(c);
  return 0;
}
