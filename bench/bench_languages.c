/*
 * bench_languages.c - the cost of each guest language, side by side in one
 * run: compile time without and with the cache, artifact sizes (.wasm and
 * .cwasm), compiling the component to native code, loading the .cwasm,
 * the first execution of a fresh load and warm executions.
 *
 * usage: bench_languages LANG=FILE [LANG=FILE ...] [--runs N]
 *   e.g. bench_languages python=tests/guest/python/seed.py \
 *        javascript=tests/guest/javascript/seed.js c=tests/guest/c/hello.c
 * Every node gets the same two input items. Compiles go through the real
 * compiler service (sandboxed) with a fresh, temporary cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "marie_wasm.h"

#define ITEMS "[{\"json\":\"{\\\"n\\\":1}\"},{\"json\":\"{\\\"n\\\":2}\"}]"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, mw_error_t *err) {
  fprintf(stderr, "bench: %s: %s\n", what, mw_error_message(err));
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) exit(1);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* One execution; exits unless the node returned ok. */
static double run_once(mw_engine_t *engine, const mw_component_t *c) {
  mw_request_t *req = NULL;
  mw_result_t *res = NULL;
  mw_error_t *err = mw_request_new(&req);
  if (!err) err = mw_request_set_items_json(req, ITEMS, strlen(ITEMS));
  if (!err) err = mw_request_set_env(req, "{}", 2);
  if (err) die("request", err);
  double t0 = now_ms();
  if ((err = mw_execute(engine, c, req, &res))) die("execute", err);
  double t = now_ms() - t0;
  if (mw_result_outcome(res) != MW_OUTCOME_OK) {
    char *json = mw_result_to_json(res, 0);
    fprintf(stderr, "bench: the node did not return ok: %s\n", json ? json : "?");
    exit(1);
  }
  mw_result_free(res);
  mw_request_free(req);
  return t;
}

int main(int argc, char **argv) {
  int runs = 200;
  char cache[] = "/tmp/mw-bench-cache-XXXXXX";
  if (!mkdtemp(cache)) return 1;
  mw_compiler_config_t *cfg = mw_compiler_config_new();
  mw_compiler_t *compiler = NULL;
  mw_error_t *err = mw_compiler_config_cache_dir(cfg, cache);
  if (!err) err = mw_compiler_new(cfg, &compiler);
  mw_compiler_config_free(cfg);
  if (err) die("compiler", err);
  mw_engine_t *engine = NULL;
  if ((err = mw_engine_new(NULL, &engine))) die("engine", err);

  printf("| language | source | compile | cached compile | .wasm | .cwasm | "
         "native compile | .cwasm load | first execution | warm execution (p50 / p99) |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = atoi(argv[++i]);
      continue;
    }
    char *eq = strchr(argv[i], '=');
    if (!eq) {
      fprintf(stderr, "usage: bench_languages LANG=FILE ... [--runs N]\n");
      return 64;
    }
    *eq = '\0';
    const char *file = eq + 1;
    mw_language_t lang;
    if ((err = mw_language_parse(argv[i], &lang))) die("language", err);
    size_t len;
    char *code = read_all(file, &len);

    mw_compile_result_t *cold = NULL, *warm = NULL;
    if ((err = mw_compile(compiler, lang, code, len, file, NULL, NULL, &cold)))
      die(file, err);
    if ((err = mw_compile(compiler, lang, code, len, file, NULL, NULL, &warm)))
      die(file, err);
    size_t wasm_len;
    const uint8_t *wasm = mw_compile_result_wasm(cold, &wasm_len);

    double t0 = now_ms();
    mw_component_t *c = NULL;
    if ((err = mw_component_new(engine, wasm, wasm_len, &c))) die("component", err);
    double native_ms = now_ms() - t0;
    char cwasm[64];
    snprintf(cwasm, sizeof cwasm, "%s/node.cwasm", cache);
    if ((err = mw_component_write_artifact(c, cwasm))) die("artifact", err);
    mw_component_free(c);
    struct stat st;
    stat(cwasm, &st);

    t0 = now_ms();
    if ((err = mw_component_load_file(engine, cwasm, &c))) die("load", err);
    double load_ms = now_ms() - t0;
    double first_ms = run_once(engine, c);
    double *t = malloc(sizeof *t * (size_t)runs);
    for (int r = 0; r < runs; r++) t[r] = run_once(engine, c);
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("| %s | `%s` | %.1f s | %s%.0f ms | %.1f KiB | %.1f MiB | %.1f s | %.1f ms | "
           "%.2f ms | %.3f / %.3f ms |\n",
           mw_language_name(lang), file, (double)mw_compile_result_ms(cold) / 1e3,
           mw_compile_result_ms(warm) < 1 ? "< " : "",
           mw_compile_result_ms(warm) < 1 ? 1.0 : (double)mw_compile_result_ms(warm), (double)wasm_len / 1024.0,
           (double)st.st_size / 1048576.0, native_ms / 1e3, load_ms, first_ms,
           t[runs / 2], t[runs * 99 / 100]);
    fflush(stdout);
    free(t);
    mw_component_free(c);
    unlink(cwasm);
    mw_compile_result_free(cold);
    mw_compile_result_free(warm);
    free(code);
  }
  mw_engine_free(engine);
  mw_compiler_free(compiler);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", cache);
  return system(cmd) == 0 ? 0 : 1;
}
