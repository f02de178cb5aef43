/*
 * bench_exec.c - per-execution cost of a trivial node through libmariewasm,
 * side by side with a minimal program making the same Wasmtime C API calls
 * directly ("bare"): fresh store, fuel, epoch deadline, WASI config,
 * instantiate, call `execute` with 10 items of 1 KiB JSON, free.
 *
 * usage: bench_exec COMPONENTS_DIR [seconds-per-round]
 * Rounds alternate (bare, lib, bare, lib, ...) so machine noise hits both
 * alike; medians of the rounds are reported, with the ratio. Also reports
 * throughput on 1 and 2 threads, and loading a .cwasm versus compiling.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasmtime.h>

#include "marie_wasm.h"

#define N_ITEMS 10
#define ITEM_BYTES 1024
#define ROUNDS 7

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, mw_error_t *err) {
  fprintf(stderr, "bench: %s: %s\n", what, mw_error_message(err));
  exit(1);
}

static void wdie(const char *what, wasmtime_error_t *err) {
  wasm_name_t m;
  wasmtime_error_message(err, &m);
  fprintf(stderr, "bench: %s: %.*s\n", what, (int)m.size, m.data);
  exit(1);
}

static char item_json[ITEM_BYTES + 1];

static void make_item(void) {
  /* {"k":"xxxx..."} padded to exactly ITEM_BYTES. */
  memset(item_json, 'x', ITEM_BYTES);
  memcpy(item_json, "{\"k\":\"", 6);
  memcpy(item_json + ITEM_BYTES - 2, "\"}", 2);
  item_json[ITEM_BYTES] = '\0';
}

/* ---- bare Wasmtime C API ------------------------------------------------ */

typedef struct bare {
  wasm_engine_t *engine;
  wasmtime_component_linker_t *linker;
  wasmtime_component_t *comp;
  wasmtime_component_export_index_t *execute;
} bare_t;

static void bare_init(bare_t *b, const uint8_t *wasm, size_t len, bool pooling) {
  wasm_config_t *cfg = wasm_config_new();
  wasmtime_config_wasm_component_model_set(cfg, true);
  wasmtime_config_consume_fuel_set(cfg, true);
  wasmtime_config_epoch_interruption_set(cfg, true);
  if (pooling) {
    wasmtime_pooling_allocation_config_t *pc = wasmtime_pooling_allocation_config_new();
    wasmtime_pooling_allocation_config_total_component_instances_set(pc, 64);
    wasmtime_pooling_allocation_config_max_memory_size_set(pc, 512u << 20);
    /* as libmariewasm's pool does (src/runtime/engine.c) */
    wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pc, 1u << 20);
    wasmtime_pooling_allocation_config_table_keep_resident_set(pc, 1u << 20);
    wasmtime_pooling_allocation_strategy_set(cfg, pc);
    wasmtime_pooling_allocation_config_delete(pc);
  }
  b->engine = wasm_engine_new_with_config(cfg);
  b->linker = wasmtime_component_linker_new(b->engine);
  wasmtime_error_t *e = wasmtime_component_linker_add_wasip2(b->linker);
  if (e) wdie("wasip2", e);
  if ((e = wasmtime_component_new(b->engine, wasm, len, &b->comp))) wdie("compile", e);
  b->execute = wasmtime_component_get_export_index(b->comp, NULL, "execute", 7);
}

static void set_string(wasmtime_component_val_t *v, const char *s) {
  v->kind = WASMTIME_COMPONENT_STRING;
  wasm_byte_vec_new(&v->of.string, strlen(s), s);
}

static wasmtime_component_val_t *field(wasmtime_component_valrecord_entry_t *e,
                                       const char *name) {
  wasm_byte_vec_new(&e->name, strlen(name), name);
  return &e->val;
}

static void bare_run(bare_t *b) {
  wasmtime_store_t *store = wasmtime_store_new(b->engine, NULL, NULL);
  wasmtime_context_t *ctx = wasmtime_store_context(store);
  wasmtime_error_t *e = wasmtime_context_set_fuel(ctx, 1000000000);
  if (e) wdie("fuel", e);
  wasmtime_context_set_epoch_deadline(ctx, 1000000);
  if ((e = wasmtime_context_set_wasi(ctx, wasi_config_new()))) wdie("wasi", e);
  wasmtime_component_instance_t inst;
  if ((e = wasmtime_component_linker_instantiate(b->linker, ctx, b->comp, &inst)))
    wdie("instantiate", e);
  wasmtime_component_func_t f;
  wasmtime_component_instance_get_func(&inst, ctx, b->execute, &f);
  wasmtime_component_val_t args[3];
  args[0].kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&args[0].of.list, N_ITEMS);
  for (int i = 0; i < N_ITEMS; i++) {
    wasmtime_component_val_t *it = &args[0].of.list.data[i];
    it->kind = WASMTIME_COMPONENT_RECORD;
    wasmtime_component_valrecord_new_uninit(&it->of.record, 2);
    set_string(field(&it->of.record.data[0], "json"), item_json);
    wasmtime_component_val_t *bin = field(&it->of.record.data[1], "binary");
    bin->kind = WASMTIME_COMPONENT_OPTION;
    bin->of.option = NULL;
  }
  args[1].kind = WASMTIME_COMPONENT_RECORD;
  wasmtime_component_valrecord_new_uninit(&args[1].of.record, 1);
  set_string(field(&args[1].of.record.data[0], "vars"), "");
  args[2].kind = WASMTIME_COMPONENT_RECORD;
  wasmtime_component_valrecord_new_uninit(&args[2].of.record, 4);
  set_string(field(&args[2].of.record.data[0], "workflow-id"), "wf");
  set_string(field(&args[2].of.record.data[1], "execution-id"), "ex");
  set_string(field(&args[2].of.record.data[2], "node-id"), "node");
  wasmtime_component_val_t *ri = field(&args[2].of.record.data[3], "run-index");
  ri->kind = WASMTIME_COMPONENT_U32;
  ri->of.u32 = 0;
  wasmtime_component_val_t res = {.kind = WASMTIME_COMPONENT_BOOL};
  if ((e = wasmtime_component_func_call(&f, ctx, args, 3, &res, 1))) wdie("call", e);
  if (res.kind != WASMTIME_COMPONENT_VARIANT) exit(2);
  for (int i = 0; i < 3; i++) wasmtime_component_val_delete(&args[i]);
  wasmtime_component_val_delete(&res);
  wasmtime_store_delete(store);
}

/* ---- libmariewasm ------------------------------------------------------- */

typedef struct lib {
  mw_engine_t *engine;
  mw_component_t *comp;
  mw_request_t *req;
} lib_t;

static void lib_init(lib_t *l, const uint8_t *wasm, size_t len, bool pooling) {
  mw_engine_config_t *cfg = mw_engine_config_new();
  mw_engine_config_pooling(cfg, pooling);
  mw_error_t *err = mw_engine_new(cfg, &l->engine);
  mw_engine_config_free(cfg);
  if (err) die("engine", err);
  if ((err = mw_component_new(l->engine, wasm, len, &l->comp))) die("component", err);
  if ((err = mw_request_new(&l->req))) die("request", err);
  for (int i = 0; i < N_ITEMS; i++)
    if ((err = mw_request_add_item(l->req, item_json, ITEM_BYTES, NULL, 0)))
      die("item", err);
}

static void lib_run(lib_t *l, mw_request_t *req) {
  mw_result_t *r;
  mw_error_t *err = mw_execute(l->engine, l->comp, req, &r);
  if (err) die("execute", err);
  if (mw_result_outcome(r) != MW_OUTCOME_OK || mw_result_item_count(r) != N_ITEMS)
    exit(3);
  mw_result_free(r);
}

/* ---- measurement -------------------------------------------------------- */

typedef struct job {
  bare_t *bare;
  lib_t *lib;
  double seconds;
  long count;
} job_t;

static void *job_main(void *arg) {
  job_t *j = arg;
  mw_request_t *req = NULL;
  if (j->lib) {
    /* One request per thread: requests are not shared between threads. */
    mw_error_t *err = mw_request_new(&req);
    for (int i = 0; !err && i < N_ITEMS; i++)
      err = mw_request_add_item(req, item_json, ITEM_BYTES, NULL, 0);
    if (err) die("request", err);
  }
  double end = now_s() + j->seconds;
  long n = 0;
  while (now_s() < end) {
    for (int k = 0; k < 16; k++) j->lib ? lib_run(j->lib, req) : bare_run(j->bare);
    n += 16;
  }
  j->count = n;
  mw_request_free(req);
  return NULL;
}

/* Executions per second on `threads` threads for `seconds`. */
static double rate(bare_t *b, lib_t *l, int threads, double seconds) {
  pthread_t t[8];
  job_t jobs[8];
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job_t){b, l, seconds, 0};
    pthread_create(&t[i], NULL, job_main, &jobs[i]);
  }
  long total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += jobs[i].count;
  }
  return (double)total / seconds;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(*len);
  if (fread(p, 1, *len, f) != *len) exit(1);
  fclose(f);
  return p;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_exec COMPONENTS_DIR [seconds-per-round]\n");
    return 64;
  }
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  char path[4096];
  snprintf(path, sizeof path, "%s/echo.wasm", argv[1]);
  size_t len;
  uint8_t *wasm = read_all(path, &len);
  make_item();

  bare_t bare, bare_od;
  lib_t lib, lib_od;
  bare_init(&bare, wasm, len, true);
  bare_init(&bare_od, wasm, len, false);
  lib_init(&lib, wasm, len, true);
  lib_init(&lib_od, wasm, len, false);

  double rb[ROUNDS], rl[ROUNDS], rbo[ROUNDS], ro[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) {
    rb[i] = rate(&bare, NULL, 1, secs);
    rl[i] = rate(NULL, &lib, 1, secs);
    rbo[i] = rate(&bare_od, NULL, 1, secs);
    ro[i] = rate(NULL, &lib_od, 1, secs);
  }
  double mb = median(rb, ROUNDS), ml = median(rl, ROUNDS);
  double mbo = median(rbo, ROUNDS), mo = median(ro, ROUNDS);
  printf("trivial node, %d items x %d B, 1 thread, median of %d rounds of %.1f s\n",
         N_ITEMS, ITEM_BYTES, ROUNDS, secs);
  printf("  pooling allocator:   bare %7.0f exec/s (%5.1f us)   libmariewasm %7.0f exec/s "
         "(%5.1f us)   cost ratio lib/bare %.2f\n",
         mb, 1e6 / mb, ml, 1e6 / ml, mb / ml);
  printf("  on-demand allocator: bare %7.0f exec/s (%5.1f us)   libmariewasm %7.0f exec/s "
         "(%5.1f us)   cost ratio lib/bare %.2f\n",
         mbo, 1e6 / mbo, mo, 1e6 / mo, mbo / mo);

  double r1[3], r2[3];
  for (int i = 0; i < 3; i++) {
    r1[i] = rate(NULL, &lib, 1, secs);
    r2[i] = rate(NULL, &lib, 2, secs);
  }
  printf("libmariewasm threads: 1 -> %.0f exec/s, 2 -> %.0f exec/s\n", median(r1, 3),
         median(r2, 3));

  /* Loading: compile the .wasm versus map a .cwasm. */
  char cw[] = "/tmp/mw-bench-XXXXXX.cwasm";
  int fd = mkstemps(cw, 6);
  close(fd);
  mw_error_t *err = mw_component_write_artifact(lib.comp, cw);
  if (err) die("artifact", err);
  double tc[5], tl[5];
  for (int i = 0; i < 5; i++) {
    double t0 = now_s();
    mw_component_t *c;
    if ((err = mw_component_new(lib.engine, wasm, len, &c))) die("compile", err);
    double t1 = now_s();
    mw_component_free(c);
    if ((err = mw_component_load_file(lib.engine, cw, &c))) die("load", err);
    double t2 = now_s();
    mw_component_free(c);
    tc[i] = t1 - t0;
    tl[i] = t2 - t1;
  }
  printf("load echo.wasm (%zu B): compile %.2f ms, map .cwasm %.3f ms (%.0fx faster)\n",
         len, median(tc, 5) * 1e3, median(tl, 5) * 1e3, median(tc, 5) / median(tl, 5));
  unlink(cw);

  mw_request_free(lib.req);
  mw_component_free(lib.comp);
  mw_engine_free(lib.engine);
  mw_request_free(lib_od.req);
  mw_component_free(lib_od.comp);
  mw_engine_free(lib_od.engine);
  bare_t *bs[] = {&bare, &bare_od};
  for (int i = 0; i < 2; i++) {
    wasmtime_component_export_index_delete(bs[i]->execute);
    wasmtime_component_delete(bs[i]->comp);
    wasmtime_component_linker_delete(bs[i]->linker);
    wasm_engine_delete(bs[i]->engine);
  }
  free(wasm);
  return 0;
}
