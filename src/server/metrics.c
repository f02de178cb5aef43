/*
 * metrics.c - the service's counters (lock-free atomics, bumped on the
 * request threads) and their Prometheus text exposition for GET /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

/* Upper bounds of the latency histogram, in seconds. */
static const double bucket_le[SRV_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30};

/* Status codes counted one by one; the rest land in "other". */
static const unsigned codes[SRV_STATUS_CODES] = {200, 201, 400, 401, 403, 404,
                                                 405, 409, 413, 415, 422, 429,
                                                 500, 502, 503, 504};

void srv_metrics_execution(srv_metrics_t *m, const mw_result_t *res,
                           uint64_t elapsed_us) {
  if (!res) {
    atomic_fetch_add(&m->exec_failed, 1);
    return;
  }
  switch (mw_result_outcome(res)) {
    case MW_OUTCOME_OK: atomic_fetch_add(&m->exec_ok, 1); break;
    case MW_OUTCOME_ERR: atomic_fetch_add(&m->exec_err, 1); break;
    case MW_OUTCOME_TRAP: {
      unsigned k = (unsigned)mw_result_trap_kind(res);
      if (k < SRV_TRAP_KINDS) atomic_fetch_add(&m->exec_trap[k], 1);
      break;
    }
  }
  mw_stats_t st;
  mw_result_stats(res, &st);
  atomic_fetch_add(&m->fuel_used, st.fuel_used);
  int b = 0;
  while (b < SRV_LATENCY_BUCKETS && (double)elapsed_us / 1e6 > bucket_le[b]) b++;
  atomic_fetch_add(&m->latency_bucket[b], 1);
  atomic_fetch_add(&m->latency_sum_us, elapsed_us);
  atomic_fetch_add(&m->latency_count, 1);
}

void srv_metrics_status(srv_metrics_t *m, unsigned status) {
  int i = 0;
  while (i < SRV_STATUS_CODES && codes[i] != status) i++;
  atomic_fetch_add(&m->http_status[i], 1);
}

/* A growable text buffer for the exposition; on failure it stays NULL. */
typedef struct text {
  char *s;
  size_t len, cap;
} text_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(text_t *t, const char *fmt, ...) {
  if (!t->s) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) goto fail;
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    char *ns = realloc(t->s, t->cap * 2 + (size_t)n);
    if (!ns) goto fail;
    t->s = ns;
    t->cap = t->cap * 2 + (size_t)n;
  }
fail:
  free(t->s);
  t->s = NULL;
}

static void family(text_t *t, const char *name, const char *type,
                   const char *help) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define LOAD(x) ((unsigned long long)atomic_load(&(x)))

char *srv_metrics_render(srv_metrics_t *m, unsigned inflight, size_t *out_len) {
  text_t t = {malloc(8192), 0, 8192};
  family(&t, "marie_build_info", "gauge", "Versions of this server.");
  put(&t, "marie_build_info{version=\"%s\",wasmtime=\"%s\"} 1\n", mw_version(),
      mw_wasmtime_version());

  family(&t, "marie_executions_total", "counter",
         "Executions finished, by outcome (ok, err, trap) and trap kind.");
  put(&t, "marie_executions_total{outcome=\"ok\",trap=\"none\"} %llu\n", LOAD(m->exec_ok));
  put(&t, "marie_executions_total{outcome=\"err\",trap=\"none\"} %llu\n", LOAD(m->exec_err));
  for (unsigned k = 1; k < SRV_TRAP_KINDS; k++)
    put(&t, "marie_executions_total{outcome=\"trap\",trap=\"%s\"} %llu\n",
        mw_trap_kind_name((mw_trap_kind_t)k), LOAD(m->exec_trap[k]));
  family(&t, "marie_execution_failures_total", "counter",
         "Executions that could not be attempted (engine or resource failure).");
  put(&t, "marie_execution_failures_total %llu\n", LOAD(m->exec_failed));

  family(&t, "marie_execution_duration_seconds", "histogram",
         "Wall-clock time of mw_execute, instantiation included.");
  unsigned long long cum = 0;
  for (int b = 0; b < SRV_LATENCY_BUCKETS; b++) {
    cum += LOAD(m->latency_bucket[b]);
    put(&t, "marie_execution_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[b], cum);
  }
  cum += LOAD(m->latency_bucket[SRV_LATENCY_BUCKETS]);
  put(&t, "marie_execution_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
  put(&t, "marie_execution_duration_seconds_sum %.6f\n",
      (double)LOAD(m->latency_sum_us) / 1e6);
  put(&t, "marie_execution_duration_seconds_count %llu\n", LOAD(m->latency_count));

  family(&t, "marie_fuel_used_total", "counter", "Fuel consumed by all executions.");
  put(&t, "marie_fuel_used_total %llu\n", LOAD(m->fuel_used));
  family(&t, "marie_active_executions", "gauge", "Executions running now.");
  put(&t, "marie_active_executions %lld\n", (long long)atomic_load(&m->active_executions));
  family(&t, "marie_inflight_requests", "gauge",
         "API requests admitted and not yet answered (limit: --max-concurrency).");
  put(&t, "marie_inflight_requests %u\n", inflight);

  family(&t, "marie_component_cache_hits_total", "counter",
         "Executions and lookups served by a component compiled in memory.");
  put(&t, "marie_component_cache_hits_total %llu\n", LOAD(m->component_hits));
  family(&t, "marie_component_cache_misses_total", "counter",
         "Lookups that loaded a component from the store.");
  put(&t, "marie_component_cache_misses_total %llu\n", LOAD(m->component_misses));
  family(&t, "marie_compile_cache_hits_total", "counter",
         "POST /v1/compile answered from the compiler's content cache.");
  put(&t, "marie_compile_cache_hits_total %llu\n", LOAD(m->compile_hits));
  family(&t, "marie_compile_cache_misses_total", "counter",
         "POST /v1/compile that ran the toolchain.");
  put(&t, "marie_compile_cache_misses_total %llu\n", LOAD(m->compile_misses));
  family(&t, "marie_compile_errors_total", "counter",
         "Compiles refused because the user's code does not compile.");
  put(&t, "marie_compile_errors_total %llu\n", LOAD(m->compile_errors));

  family(&t, "marie_http_responses_total", "counter", "HTTP responses by status code.");
  for (int i = 0; i <= SRV_STATUS_CODES; i++) {
    unsigned long long n = LOAD(m->http_status[i]);
    if (!n) continue;
    if (i < SRV_STATUS_CODES)
      put(&t, "marie_http_responses_total{code=\"%u\"} %llu\n", codes[i], n);
    else
      put(&t, "marie_http_responses_total{code=\"other\"} %llu\n", n);
  }
  if (t.s) *out_len = t.len;
  return t.s;
}
