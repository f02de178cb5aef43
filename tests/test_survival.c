/*
 * test_survival.c - the host survives thousands of bad runs in one process:
 * every run ends with its expected outcome, and the process's memory comes
 * back to where it was (stores, instances and pool slots are released).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

typedef struct {
  const char *component, *env, *perms;
  mw_outcome_t outcome;
  mw_trap_kind_t trap;
} run_case_t;

static const run_case_t cases[] = {
    {"loop", NULL, "{\"max_fuel\": 200000}", MW_OUTCOME_TRAP, MW_TRAP_FUEL_EXHAUSTED},
    {"loop", NULL, "{\"timeout_ms\": 2, \"max_fuel\": 100000000000000}",
     MW_OUTCOME_TRAP, MW_TRAP_TIMEOUT},
    {"membomb", NULL, "{\"max_memory_mb\": 4}", MW_OUTCOME_TRAP, MW_TRAP_MEMORY_LIMIT},
    {"recurse", NULL, NULL, MW_OUTCOME_TRAP, MW_TRAP_STACK_OVERFLOW},
    {"trap", NULL, NULL, MW_OUTCOME_TRAP, MW_TRAP_GUEST},
    {"bigoutput", "50", "{\"max_output_items\": 10}", MW_OUTCOME_TRAP, MW_TRAP_OUTPUT_LIMIT},
    {"guesterr", NULL, NULL, MW_OUTCOME_ERR, MW_TRAP_NONE},
    {"echo", NULL, NULL, MW_OUTCOME_OK, MW_TRAP_NONE},
};
#define N_CASES (sizeof cases / sizeof *cases)

static void run_round(size_t rounds) {
  for (size_t i = 0; i < rounds; i++) {
    const run_case_t *k = &cases[i % N_CASES];
    mw_result_t *r = tu_run(k->component, "[{\"json\": \"1\"}]", k->env,
                            k->perms, NULL);
    if (mw_result_outcome(r) != k->outcome || mw_result_trap_kind(r) != k->trap) {
      char *j = tu_json(r);
      fail_msg("run %zu (%s): unexpected %s", i, k->component, j);
    }
    mw_result_free(r);
  }
}

static void thousands_of_bad_runs(void **state) {
  (void)state;
  run_round(N_CASES * 25); /* warm up: pool slots, caches */
  long before = rss_kib();
  run_round(N_CASES * 250); /* 2000 runs */
  long after = rss_kib();
  fprintf(stderr, "rss before %ld KiB, after %ld KiB\n", before, after);
#if defined(__SANITIZE_ADDRESS__)
  /* ASan keeps freed memory in quarantine, so RSS says nothing here; its
   * leak checker runs at exit instead. */
  (void)before, (void)after;
#else
  /* Leaks would add up over 2000 runs (each membomb alone maps 4 MiB). */
  assert_true(after - before < 64 * 1024);
#endif
}

/* Executions on several threads share the engine and components; each
 * gets its own outcome. */
typedef struct worker {
  size_t offset, runs, wrong;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (size_t i = 0; i < w->runs; i++) {
    const run_case_t *k = &cases[(w->offset + i) % N_CASES];
    mw_request_t *req;
    mw_permissions_t *p = NULL;
    mw_result_t *r = NULL;
    if (mw_request_new(&req)) abort();
    if (k->env && mw_request_set_env(req, k->env, strlen(k->env))) abort();
    if (k->perms) {
      if (mw_permissions_from_json(k->perms, strlen(k->perms), &p)) abort();
      mw_request_set_permissions(req, p);
    }
    if (mw_execute(tu_engine(), tu_component(k->component), req, &r)) abort();
    if (mw_result_outcome(r) != k->outcome || mw_result_trap_kind(r) != k->trap)
      w->wrong++;
    mw_result_free(r);
    mw_permissions_free(p);
    mw_request_free(req);
  }
  return NULL;
}

static void concurrent_runs_on_shared_engine(void **state) {
  (void)state;
  /* Load every component first: the test's component cache is not
   * thread-safe (the library is). */
  for (size_t i = 0; i < N_CASES; i++) tu_component(cases[i].component);
  pthread_t t[4];
  worker_t w[4];
  for (size_t i = 0; i < 4; i++) {
    w[i] = (worker_t){i * 3, 200, 0};
    assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  }
  for (size_t i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].wrong, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thousands_of_bad_runs),
      cmocka_unit_test(concurrent_runs_on_shared_engine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
