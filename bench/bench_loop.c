/*
 * bench_loop.c - the C side of bench/bench_python.py: mw_execute in a loop
 * on N threads, with per-execution latencies, driven over stdin so the
 * Python benchmark can alternate it with its own rounds in one run.
 *
 * usage: bench_loop WASM_FILE
 * Then one command per line on stdin, one JSON line on stdout per command:
 *   run MODE THREADS SECONDS
 *     -> {"count":N,"seconds":S,"p50_us":X,"p99_us":Y,"cpu_us":Z}
 *   quit
 * MODE "exec": a request built once per thread, then mw_execute, check,
 *   mw_result_free (the library's floor, as bench_exec's libmariewasm).
 * MODE "full": per execution, the C calls marie_wasm's execute_sync makes:
 *   a new request, the 10 items packed into one buffer and set with one
 *   call, the context, the permissions (parsed once: the binding caches
 *   them) and the host, mw_execute, the result in one buffer
 *   (mw_result_pack), free everything: (b) minus the Python.
 * MODE "tojson": "full" plus mw_result_to_json (stats, logs, events), as
 *   the binding once read results.
 * Each answer also has "cpu_us": process CPU time per execution.
 * The engine has the library's defaults (pooling), as marie_wasm.Engine();
 * the host has memory KV and libcurl HTTP, as marie_wasm.WasmExecutor.
 * Input: N_ITEMS items of ITEM_BYTES bytes of JSON, as bench_exec.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marie_wasm.h"

#define N_ITEMS 10
#define ITEM_BYTES 1024
#define MAX_THREADS 8

static char item_json[ITEM_BYTES + 1];
static mw_engine_t *engine;
static mw_component_t *comp;
static mw_host_t *host;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(const char *what, mw_error_t *err) {
  if (!err) return;
  fprintf(stderr, "bench_loop: %s: %s\n", what, mw_error_message(err));
  exit(1);
}

static mw_request_t *make_request(void) {
  mw_request_t *req;
  check("request", mw_request_new(&req));
  for (int i = 0; i < N_ITEMS; i++)
    check("item", mw_request_add_item(req, item_json, ITEM_BYTES, NULL, 0));
  return req;
}

static void expect_ok(const mw_result_t *r) {
  if (mw_result_outcome(r) != MW_OUTCOME_OK || mw_result_item_count(r) != N_ITEMS) {
    fprintf(stderr, "bench_loop: unexpected result\n");
    exit(3);
  }
}

static void run_exec(mw_request_t *req) {
  mw_result_t *r;
  check("execute", mw_execute(engine, comp, req, &r));
  expect_ok(r);
  mw_result_free(r);
}

enum { MODE_EXEC, MODE_FULL, MODE_TOJSON };

static mw_permissions_t *deny_all;

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

static void run_full(int mode) {
  enum { PACKED = N_ITEMS * (8 + ITEM_BYTES) };
  unsigned char *packed = malloc(PACKED), *p = packed;
  if (!packed) exit(4);
  for (int i = 0; i < N_ITEMS; i++, p += 8 + ITEM_BYTES) {
    put_u32(p, ITEM_BYTES);
    put_u32(p + 4, MW_PACKED_NONE);
    memcpy(p + 8, item_json, ITEM_BYTES);
  }
  mw_request_t *req;
  check("request", mw_request_new(&req));
  check("items", mw_request_set_items_packed(req, packed, PACKED));
  free(packed);
  check("context", mw_request_set_context(req, "wf", "ex", "node", 0));
  mw_request_set_permissions(req, deny_all);
  mw_request_set_host(req, host);
  mw_result_t *r;
  check("execute", mw_execute(engine, comp, req, &r));
  expect_ok(r);
  size_t len;
  unsigned char *buf = mw_result_pack(r, &len);
  if (!buf || len < 96 + N_ITEMS * (8 + ITEM_BYTES)) exit(4);
  free(buf);
  if (mode == MODE_TOJSON) {
    char *doc = mw_result_to_json(r, MW_JSON_STATS | MW_JSON_LOGS | MW_JSON_EVENTS);
    if (!doc) exit(4);
    free(doc);
  }
  mw_result_free(r);
  mw_request_free(req);
}

typedef struct job {
  int mode;
  double seconds;
  size_t count, cap;
  double *lat; /* seconds per execution */
} job_t;

static void *job_main(void *arg) {
  job_t *j = arg;
  mw_request_t *req = j->mode == MODE_EXEC ? make_request() : NULL;
  double end = now_s() + j->seconds;
  for (double t0 = now_s(); t0 < end;) {
    if (j->mode == MODE_EXEC)
      run_exec(req);
    else
      run_full(j->mode);
    double t1 = now_s();
    if (j->count == j->cap) {
      j->cap = j->cap ? 2 * j->cap : 4096;
      j->lat = realloc(j->lat, j->cap * sizeof *j->lat);
      if (!j->lat) exit(5);
    }
    j->lat[j->count++] = t1 - t0;
    t0 = t1;
  }
  mw_request_free(req);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(int mode, int threads, double seconds) {
  pthread_t t[MAX_THREADS];
  job_t jobs[MAX_THREADS];
  double t0 = now_s(), c0 = cpu_s();
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job_t){.mode = mode, .seconds = seconds};
    pthread_create(&t[i], NULL, job_main, &jobs[i]);
  }
  size_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += jobs[i].count;
  }
  double elapsed = now_s() - t0, cpu = cpu_s() - c0;
  double *all = malloc((total ? total : 1) * sizeof *all);
  if (!all) exit(5);
  size_t n = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + n, jobs[i].lat, jobs[i].count * sizeof *all);
    n += jobs[i].count;
    free(jobs[i].lat);
  }
  qsort(all, n, sizeof *all, cmp);
  double p50 = n ? all[n / 2] : 0, p99 = n ? all[(size_t)((double)(n - 1) * 0.99)] : 0;
  printf("{\"count\":%zu,\"seconds\":%.6f,\"p50_us\":%.3f,\"p99_us\":%.3f,\"cpu_us\":%.3f}\n",
         n, elapsed, p50 * 1e6, p99 * 1e6, n ? cpu / (double)n * 1e6 : 0.0);
  fflush(stdout);
  free(all);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_loop WASM_FILE (then commands on stdin)\n");
    return 64;
  }
  memset(item_json, 'x', ITEM_BYTES);
  memcpy(item_json, "{\"k\":\"", 6);
  memcpy(item_json + ITEM_BYTES - 2, "\"}", 2);
  item_json[ITEM_BYTES] = '\0';

  mw_engine_config_t *cfg = mw_engine_config_new();
  check("engine", mw_engine_new(cfg, &engine));
  mw_engine_config_free(cfg);
  check("component", mw_component_load_file(engine, argv[1], &comp));
  host = mw_host_new();
  if (!host) return 5;
  check("kv", mw_host_use_kv_url(host, "memory:", NULL));
  check("http", mw_host_use_curl_http(host, NULL));
  check("permissions", mw_permissions_from_json("{}", 2, &deny_all));

  char line[256], name[16];
  int threads;
  double seconds;
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "quit", 4) == 0) break;
    int mode = -1;
    if (sscanf(line, "run %15s %d %lf", name, &threads, &seconds) == 3)
      mode = strcmp(name, "exec") == 0     ? MODE_EXEC
             : strcmp(name, "full") == 0   ? MODE_FULL
             : strcmp(name, "tojson") == 0 ? MODE_TOJSON
                                           : -1;
    if (mode < 0 || threads < 1 || threads > MAX_THREADS || seconds <= 0) {
      fprintf(stderr, "bench_loop: bad command: %s", line);
      return 64;
    }
    run(mode, threads, seconds);
  }
  mw_permissions_free(deny_all);
  mw_host_free(host);
  mw_component_free(comp);
  mw_engine_free(engine);
  return 0;
}
