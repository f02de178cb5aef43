/*
 * soak.c - many executions in one process, mixing successes, guest errors
 * and every trap kind across threads; reports whether the process keeps its
 * memory, descriptors and threads, and whether throughput stays flat.
 *
 * usage: soak [--runs N] [--threads T] [--check] COMPONENTS_DIR
 *   --runs N     executions in all (default 1,000,000)
 *   --threads T  worker threads sharing one engine (default 2)
 *   --check      exit 1 unless every outcome was the expected one, the
 *                descriptors and threads at the end are those at the start,
 *                and RSS grew by at most 32 MiB from the end of the first
 *                10% (used by the short CTest run; speed is never checked)
 *
 * Run i executes mix[i % N_MIX]; each case has a fixed expected outcome.
 * Throughput and RSS are sampled each time another 10% of the runs has
 * completed.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marie_wasm.h"

#define SLICES 10
#define RSS_GROWTH_MAX_KIB (32 * 1024)
#define MAX_THREADS 64

typedef struct soak_case {
  const char *label, *component, *env, *perms, *items;
  bool host; /* memory KV backend */
  mw_outcome_t outcome;
  mw_trap_kind_t trap;
} soak_case_t;

/* The host component's commands: a KV round trip and a log line. */
#define HOST_ITEMS \
  "[{\"json\": \"kv_put k - v\"}, {\"json\": \"kv_get k\"}, {\"json\": \"log info soak\"}]"

/* Cheap cases more often than expensive ones (a timeout costs ~2 ticks of
 * 2 ms, a memory bomb touches 4 MiB); every kind comes up in each cycle. */
static const soak_case_t mix[] = {
    {"ok", "echo", NULL, NULL, "[{\"json\": \"1\"}]", false, MW_OUTCOME_OK, MW_TRAP_NONE},
    {"ok-host", "host", NULL, "{\"allow_kv\": true}", HOST_ITEMS, true, MW_OUTCOME_OK,
     MW_TRAP_NONE},
    {"err", "guesterr", NULL, NULL, NULL, false, MW_OUTCOME_ERR, MW_TRAP_NONE},
    {"fuel", "loop", NULL, "{\"max_fuel\": 200000}", NULL, false, MW_OUTCOME_TRAP,
     MW_TRAP_FUEL_EXHAUSTED},
    {"ok", "echo", NULL, NULL, "[{\"json\": \"1\"}]", false, MW_OUTCOME_OK, MW_TRAP_NONE},
    {"stack", "recurse", NULL, NULL, NULL, false, MW_OUTCOME_TRAP, MW_TRAP_STACK_OVERFLOW},
    {"output", "bigoutput", "50", "{\"max_output_items\": 10}", NULL, false,
     MW_OUTCOME_TRAP, MW_TRAP_OUTPUT_LIMIT},
    {"ok-host", "host", NULL, "{\"allow_kv\": true}", HOST_ITEMS, true, MW_OUTCOME_OK,
     MW_TRAP_NONE},
    {"guest-trap", "trap", NULL, NULL, NULL, false, MW_OUTCOME_TRAP, MW_TRAP_GUEST},
    {"ok", "echo", NULL, NULL, "[{\"json\": \"1\"}]", false, MW_OUTCOME_OK, MW_TRAP_NONE},
    {"err", "guesterr", NULL, NULL, NULL, false, MW_OUTCOME_ERR, MW_TRAP_NONE},
    {"memory", "membomb", NULL, "{\"max_memory_mb\": 4}", NULL, false, MW_OUTCOME_TRAP,
     MW_TRAP_MEMORY_LIMIT},
    {"ok", "echo", NULL, NULL, "[{\"json\": \"1\"}]", false, MW_OUTCOME_OK, MW_TRAP_NONE},
    {"fuel", "loop", NULL, "{\"max_fuel\": 200000}", NULL, false, MW_OUTCOME_TRAP,
     MW_TRAP_FUEL_EXHAUSTED},
    {"timeout", "loop", NULL, "{\"timeout_ms\": 1, \"max_fuel\": 100000000000000}", NULL,
     false, MW_OUTCOME_TRAP, MW_TRAP_TIMEOUT},
    {"ok", "echo", NULL, NULL, "[{\"json\": \"1\"}]", false, MW_OUTCOME_OK, MW_TRAP_NONE},
};
#define N_MIX (sizeof mix / sizeof *mix)

/* A case ready to run: its component and a request, one per thread. */
typedef struct prepared {
  mw_component_t *component;
  mw_permissions_t *perms;
} prepared_t;

static mw_engine_t *engine;
static mw_host_t *host;
static prepared_t prepared[N_MIX];
static uint64_t total_runs;
static atomic_uint_fast64_t next_run, completed, wrong;
static atomic_uint_fast64_t by_label[N_MIX];

/* Slice k ends when (k+1)*total/10 runs have completed. */
static double slice_end_s[SLICES];
static long slice_rss_kib[SLICES];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static long count_dir(const char *path) {
  DIR *d = opendir(path);
  long n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void die(const char *what, mw_error_t *err) {
  fprintf(stderr, "soak: %s: %s\n", what, mw_error_message(err));
  exit(1);
}

/* Builds one request per case for a thread (requests are not shared). */
static void make_requests(mw_request_t **reqs) {
  for (size_t i = 0; i < N_MIX; i++) {
    const soak_case_t *k = &mix[i];
    mw_error_t *err = mw_request_new(&reqs[i]);
    if (!err && k->env) err = mw_request_set_env(reqs[i], k->env, strlen(k->env));
    if (!err && k->items) err = mw_request_set_items_json(reqs[i], k->items, strlen(k->items));
    if (err) die("request", err);
    mw_request_set_permissions(reqs[i], prepared[i].perms);
    if (k->host) mw_request_set_host(reqs[i], host);
  }
}

/* Runs case i once; false when the outcome was not the expected one. */
static bool run_once(mw_request_t *const *reqs, size_t i) {
  mw_result_t *r = NULL;
  mw_error_t *err = mw_execute(engine, prepared[i].component, reqs[i], &r);
  if (err) die("execute", err);
  bool good = mw_result_outcome(r) == mix[i].outcome && mw_result_trap_kind(r) == mix[i].trap;
  if (!good) {
    char *j = mw_result_to_json(r, 0);
    fprintf(stderr, "soak: %s: unexpected %.400s\n", mix[i].label, j ? j : "?");
    free(j);
  }
  mw_result_free(r);
  return good;
}

static void *worker(void *arg) {
  (void)arg;
  mw_request_t *reqs[N_MIX];
  make_requests(reqs);
  for (;;) {
    uint64_t i = atomic_fetch_add(&next_run, 1);
    if (i >= total_runs) break;
    size_t k = (size_t)(i % N_MIX);
    if (!run_once(reqs, k)) atomic_fetch_add(&wrong, 1);
    atomic_fetch_add(&by_label[k], 1);
    uint64_t done = atomic_fetch_add(&completed, 1) + 1;
    /* Exactly one thread completes each slice's last run. */
    for (int s = 0; s < SLICES; s++)
      if (done == total_runs * (uint64_t)(s + 1) / SLICES) {
        slice_end_s[s] = now_s();
        slice_rss_kib[s] = rss_kib();
        fprintf(stderr, "soak: %d%% done, RSS %ld KiB\n", (s + 1) * 100 / SLICES,
                slice_rss_kib[s]);
      }
  }
  for (size_t i = 0; i < N_MIX; i++) mw_request_free(reqs[i]);
  return NULL;
}

static void load(const char *dir) {
  for (size_t i = 0; i < N_MIX; i++) {
    for (size_t j = 0; j < i; j++)
      if (!strcmp(mix[j].component, mix[i].component)) prepared[i].component = prepared[j].component;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.wasm", dir, mix[i].component);
    mw_error_t *err = prepared[i].component
                          ? NULL
                          : mw_component_load_file(engine, path, &prepared[i].component);
    if (err) die(path, err);
    if (mix[i].perms &&
        (err = mw_permissions_from_json(mix[i].perms, strlen(mix[i].perms), &prepared[i].perms)))
      die(mix[i].label, err);
  }
}

static void unload(void) {
  for (size_t i = 0; i < N_MIX; i++) {
    bool shared = false;
    for (size_t j = 0; j < i; j++) shared = shared || prepared[j].component == prepared[i].component;
    if (!shared) mw_component_free(prepared[i].component);
    mw_permissions_free(prepared[i].perms);
  }
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  long threads = 2;
  bool check = false;
  total_runs = 1000000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      total_runs = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--check"))
      check = true;
    else
      dir = argv[i];
  }
  if (!dir || total_runs < SLICES * N_MIX || threads < 1 || threads > MAX_THREADS) {
    fprintf(stderr, "usage: soak [--runs N>=%zu] [--threads 1..%d] [--check] COMPONENTS_DIR\n",
            SLICES * N_MIX, MAX_THREADS);
    return 64;
  }

  long rss_before = rss_kib();
  mw_error_t *err = mw_engine_new(NULL, &engine);
  if (err) die("engine", err);
  if (!(host = mw_host_new())) return 1;
  if ((err = mw_host_use_memory_kv(host))) die("kv", err);
  load(dir);
  /* Warm up: every case on this thread, so pools and caches exist before
   * the start figures are taken. */
  mw_request_t *reqs[N_MIX];
  make_requests(reqs);
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < N_MIX; i++)
      if (!run_once(reqs, i)) atomic_fetch_add(&wrong, 1);
  for (size_t i = 0; i < N_MIX; i++) mw_request_free(reqs[i]);

  long rss_start = rss_kib(), fds_start = count_dir("/proc/self/fd");
  long threads_start = count_dir("/proc/self/task");
  double t0 = now_s();
  pthread_t t[MAX_THREADS];
  for (long i = 0; i < threads; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 1;
  long threads_running = count_dir("/proc/self/task");
  for (long i = 0; i < threads; i++) pthread_join(t[i], NULL);
  double elapsed = now_s() - t0;
  long rss_end = rss_kib(), fds_end = count_dir("/proc/self/fd");
  long threads_end = count_dir("/proc/self/task");

  printf("soak: %llu executions on %ld threads in %.1f s (%.0f exec/s), %llu wrong\n",
         (unsigned long long)total_runs, threads, elapsed, (double)total_runs / elapsed,
         (unsigned long long)atomic_load(&wrong));
  printf("mix per cycle of %zu:", N_MIX);
  for (size_t i = 0; i < N_MIX; i++) {
    bool first = true;
    for (size_t j = 0; j < i; j++) first = first && strcmp(mix[j].label, mix[i].label);
    if (!first) continue;
    uint64_t n = 0;
    for (size_t j = i; j < N_MIX; j++)
      if (!strcmp(mix[j].label, mix[i].label)) n += atomic_load(&by_label[j]);
    printf(" %s %llu", mix[i].label, (unsigned long long)n);
  }
  printf("\nRSS: %ld KiB before the engine, %ld KiB at start (after warm-up), %ld KiB at end\n",
         rss_before, rss_start, rss_end);
  printf("fds: %ld at start, %ld at end; threads: %ld at start, %ld while running "
         "(+%ld workers), %ld at end\n",
         fds_start, fds_end, threads_start, threads_running, threads, threads_end);
  printf("slice  runs        exec/s   RSS KiB\n");
  double prev = t0;
  for (int s = 0; s < SLICES; s++) {
    uint64_t runs = total_runs * (uint64_t)(s + 1) / SLICES - total_runs * (uint64_t)s / SLICES;
    printf("%3d%%  %8llu  %10.0f  %8ld\n", (s + 1) * 100 / SLICES, (unsigned long long)runs,
           (double)runs / (slice_end_s[s] - prev), slice_rss_kib[s]);
    prev = slice_end_s[s];
  }

  unload();
  mw_host_free(host);
  mw_engine_free(engine);

  if (!check) return 0;
  bool ok = atomic_load(&wrong) == 0 && fds_end == fds_start && threads_end == threads_start;
#if !defined(__SANITIZE_ADDRESS__)
  /* From the end of the first slice: each thread's allocator arena has
   * grown to its working size by then. */
  ok = ok && rss_end - slice_rss_kib[0] <= RSS_GROWTH_MAX_KIB;
#endif
  printf("soak: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
