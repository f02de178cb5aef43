/*
 * test_util.c - see test_util.h.
 */
#include "test_util.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mw_engine_t *engine;

#define MAX_CACHED 32
static struct {
  char name[64];
  mw_component_t *c;
} cache[MAX_CACHED];
static size_t n_cached;

static void cleanup(void) {
  for (size_t i = 0; i < n_cached; i++) mw_component_free(cache[i].c);
  mw_engine_free(engine);
}

const char *tu_dir(void) {
  const char *d = getenv("MW_TEST_COMPONENTS");
  return d && *d ? d : "tests/components";
}

const char *tu_path(const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s.wasm", tu_dir(), name);
  return buf;
}

/* Wasmtime turns guest faults into traps with signal handlers; cmocka
 * installs its own for the duration of each test, which would see the
 * guest's faults as crashes of the test. The handlers in place right after
 * the engine exists (Wasmtime's, which chain to any earlier one) are saved
 * and put back whenever a test reaches the engine. */
static const int trap_signals[] = {SIGSEGV, SIGILL, SIGBUS, SIGFPE};
static struct sigaction saved[4];

mw_engine_t *tu_engine(void) {
  if (!engine) {
    mw_engine_config_t *cfg = mw_engine_config_new();
    mw_engine_config_pool_instances(cfg, 8);
    TU_OK(mw_engine_new(cfg, &engine));
    mw_engine_config_free(cfg);
    atexit(cleanup);
    for (int i = 0; i < 4; i++) sigaction(trap_signals[i], NULL, &saved[i]);
  }
  for (int i = 0; i < 4; i++) sigaction(trap_signals[i], &saved[i], NULL);
  return engine;
}

mw_component_t *tu_component(const char *name) {
  for (size_t i = 0; i < n_cached; i++)
    if (!strcmp(cache[i].name, name)) return cache[i].c;
  assert_true(n_cached < MAX_CACHED);
  mw_component_t *c = NULL;
  TU_OK(mw_component_load_file(tu_engine(), tu_path(name), &c));
  snprintf(cache[n_cached].name, sizeof cache[n_cached].name, "%s", name);
  cache[n_cached++].c = c;
  return c;
}

mw_result_t *tu_run(const char *name, const char *items, const char *env,
                    const char *perms, const mw_host_t *host) {
  mw_component_t *c = tu_component(name);
  mw_request_t *req = NULL;
  mw_permissions_t *p = NULL;
  mw_result_t *res = NULL;
  TU_OK(mw_request_new(&req));
  if (items) TU_OK(mw_request_set_items_json(req, items, strlen(items)));
  if (env) TU_OK(mw_request_set_env(req, env, strlen(env)));
  if (perms) {
    TU_OK(mw_permissions_from_json(perms, strlen(perms), &p));
    mw_request_set_permissions(req, p);
  }
  mw_request_set_host(req, host);
  TU_OK(mw_execute(tu_engine(), c, req, &res));
  mw_request_free(req);
  mw_permissions_free(p);
  return res;
}

mw_result_t *tu_host_cmds(const char *const *cmds, size_t n,
                          const char *perms, const mw_host_t *host) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s}", "json", cmds[i]));
  char *items = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  mw_result_t *r = tu_run("host", items, NULL, perms, host);
  free(items);
  return r;
}

char *tu_json(const mw_result_t *r) {
  return mw_result_to_json(r, MW_JSON_STATS | MW_JSON_LOGS | MW_JSON_EVENTS);
}

const char *tu_item(const mw_result_t *r, size_t i) {
  if (mw_result_outcome(r) != MW_OUTCOME_OK || i >= mw_result_item_count(r)) {
    char *j = tu_json(r);
    fail_msg("expected ok with item %zu, got %s", i, j);
  }
  return mw_result_item_json(r, i, NULL);
}
