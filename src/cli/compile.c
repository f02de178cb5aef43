/*
 * compile.c - `marie-wasm compile`: a user's function -> a marie:node
 * component, through the sandboxed, cached compiler service; optionally
 * precompiled to .cwasm and put in an artifact store.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char help[] =
    "usage: marie-wasm compile [--lang LANG] FILE [-o NODE.wasm] [options]\n"
    "\n"
    "Compiles FILE, which defines execute(input_items, config, context), into\n"
    "a marie:node component. The toolchain runs in a sandbox without network;\n"
    "results are cached by content, so compiling the same code again is\n"
    "instant.\n"
    "\n"
    "options:\n"
    "  --lang LANG       python, javascript, typescript, rust or c (default:\n"
    "                    from FILE's extension)\n"
    "  -o, --output PATH where to write the component (default: FILE with\n"
    "                    the extension .wasm)\n"
    "  --precompile      also write the native artifact (PATH with .cwasm)\n"
    "  --store LOC       put the artifact(s) in a store: a directory or\n"
    "                    s3://bucket/prefix, under\n"
    "                    wasm/nodes/<node-id>/<sha256[:24]>.wasm (needs\n"
    "                    --node-id)\n"
    "  --node-id ID      the node the artifact belongs to\n"
    "  --no-cache        compile even if the cache has the result\n"
    "  --timeout SECS    compile time limit (default 300)\n"
    "  --json            print the result as JSON on stdout\n"
    "  -q, --quiet       no progress on stderr\n"
    "\n"
    "environment: MW_TOOLCHAINS_DIR (toolchains root), MW_COMPILE_CACHE_DIR,\n"
    "MW_GUEST_DIR (the language wrappers).\n"
    "\n"
    "exit status: 0 compiled, 1 the code has errors (FILE:LINE:COL: message\n"
    "on stderr), 64 bad usage, 70 anything else (toolchain, sandbox, I/O).\n"
    "\n"
    "example:\n"
    "  marie-wasm compile node.py -o node.wasm --precompile\n"
    "  marie-wasm run node.cwasm --input items.json\n";

/* Progress for a compile that can take a while: the service's own lines,
 * and a line every 10 s while the toolchain runs. */
typedef struct ticker {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done, quiet;
  time_t start;
  pthread_t thread;
} ticker_t;

static void *tick(void *arg) {
  ticker_t *t = arg;
  pthread_mutex_lock(&t->lock);
  while (!t->done) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    if (pthread_cond_timedwait(&t->cond, &t->lock, &until) != 0 && !t->done)
      fprintf(stderr, "marie-wasm: still compiling (%ld s)\n",
              (long)(time(NULL) - t->start));
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

static void on_progress(void *ud, const char *stage, const char *message) {
  ticker_t *t = ud;
  if (!t->quiet && strcmp(stage, "done") != 0)
    fprintf(stderr, "marie-wasm: %s\n", message);
}

/* PATH with its extension (if any, after the last '/') replaced by ext. */
static char *with_ext(const char *path, const char *ext) {
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(path, '.');
  size_t stem = dot && (!slash || dot > slash) && dot != path && dot[-1] != '/'
                    ? (size_t)(dot - path)
                    : strlen(path);
  char *s = malloc(stem + strlen(ext) + 1);
  if (s) {
    memcpy(s, path, stem);
    strcpy(s + stem, ext);
  }
  return s;
}

static int store_artifacts(const char *loc, const char *node_id, const char *sha,
                           const uint8_t *wasm, size_t len, const char *cwasm_path,
                           char **wasm_key, char **cwasm_key) {
  mw_store_t *store = NULL;
  uint8_t *native = NULL;
  size_t native_len = 0;
  mw_error_t *err = mw_store_open(loc, &store);
  if (!err) err = mw_store_node_key(node_id, sha, ".wasm", wasm_key);
  if (!err) err = mw_store_put(store, *wasm_key, wasm, len);
  if (!err && cwasm_path) {
    char *bytes = cli_read_file(cwasm_path, &native_len);
    if (!bytes) err = mw_error_new(MW_ERR_IO, "%s: cannot read it back", cwasm_path);
    native = (uint8_t *)bytes;
    if (!err) err = mw_store_node_key(node_id, sha, ".cwasm", cwasm_key);
    if (!err) err = mw_store_put(store, *cwasm_key, native, native_len);
  }
  free(native);
  mw_store_free(store);
  return err ? cli_fail(err, "store") : MW_EXIT_OK;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

int cmd_compile(int argc, char **argv) {
  enum { O_LANG = 256, O_PRECOMPILE, O_STORE, O_NODE_ID, O_NO_CACHE, O_TIMEOUT, O_JSON };
  static const struct option opts[] = {
      {"lang", required_argument, 0, O_LANG},
      {"output", required_argument, 0, 'o'},
      {"precompile", no_argument, 0, O_PRECOMPILE},
      {"store", required_argument, 0, O_STORE},
      {"node-id", required_argument, 0, O_NODE_ID},
      {"no-cache", no_argument, 0, O_NO_CACHE},
      {"timeout", required_argument, 0, O_TIMEOUT},
      {"json", no_argument, 0, O_JSON},
      {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *lang_name = NULL, *out = NULL, *store = NULL, *node_id = NULL;
  bool precompile = false, no_cache = false, json = false, quiet = false;
  long timeout_s = 300;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "ho:q", opts, NULL)) != -1) {
    switch (o) {
    case O_LANG: lang_name = optarg; break;
    case 'o': out = optarg; break;
    case O_PRECOMPILE: precompile = true; break;
    case O_STORE: store = optarg; break;
    case O_NODE_ID: node_id = optarg; break;
    case O_NO_CACHE: no_cache = true; break;
    case O_JSON: json = true; break;
    case 'q': quiet = true; break;
    case O_TIMEOUT: {
      char *end = NULL;
      errno = 0;
      timeout_s = strtol(optarg, &end, 10);
      if (errno || !end || *end || timeout_s < 1 || timeout_s > 3600) {
        fprintf(stderr, "marie-wasm: --timeout: a number of seconds, 1-3600\n");
        return MW_EXIT_USAGE;
      }
      break;
    }
    case 'h': fputs(help, stdout); return MW_EXIT_OK;
    default: fputs(help, stderr); return MW_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fputs(help, stderr);
    return MW_EXIT_USAGE;
  }
  const char *file = argv[optind];
  if (store && !node_id) {
    fprintf(stderr, "marie-wasm: --store needs --node-id\n");
    return MW_EXIT_USAGE;
  }
  mw_language_t lang;
  mw_error_t *err = NULL;
  if (lang_name) {
    err = mw_language_parse(lang_name, &lang);
  } else {
    const char *dot = strrchr(file, '.');
    if (!dot || strchr(dot, '/')) {
      fprintf(stderr, "marie-wasm: %s: no extension to tell the language by; "
                      "use --lang\n", file);
      return MW_EXIT_USAGE;
    }
    err = mw_language_parse(dot, &lang);
  }
  if (err) return cli_fail(err, "--lang");
  if (store && node_id) { /* check the node id before the slow part */
    char *key = NULL;
    err = mw_store_node_key(node_id, "0000000000000000000000000000000000000000000000000000000000000000", ".wasm", &key);
    free(key);
    if (err) return cli_fail(err, "--node-id");
  }

  size_t len = 0;
  char *code = cli_read_file(file, &len);
  if (!code) return MW_EXIT_USAGE;
  char *out_path = out ? strdup(out) : with_ext(file, ".wasm");
  char *cwasm_path = precompile ? with_ext(out_path ? out_path : "", ".cwasm") : NULL;
  if (!out_path || (precompile && !cwasm_path)) {
    free(code);
    free(out_path);
    return cli_fail(mw_error_new(MW_ERR_NOMEM, "out of memory"), NULL);
  }

  mw_compiler_config_t *cfg = mw_compiler_config_new();
  mw_compiler_t *compiler = NULL;
  mw_compile_result_t *res = NULL;
  if (!cfg) err = mw_error_new(MW_ERR_NOMEM, "out of memory");
  if (!err && no_cache) err = mw_compiler_config_cache_dir(cfg, NULL);
  if (!err) mw_compiler_config_timeout_ms(cfg, (uint32_t)timeout_s * 1000);
  if (!err) err = mw_compiler_new(cfg, &compiler);
  mw_compiler_config_free(cfg);

  ticker_t t = {.done = false, .quiet = quiet, .start = time(NULL)};
  pthread_mutex_init(&t.lock, NULL);
  pthread_cond_init(&t.cond, NULL);
  bool ticking = !err && !quiet && pthread_create(&t.thread, NULL, tick, &t) == 0;
  if (!err) err = mw_compile(compiler, lang, code, len, file, on_progress, &t, &res);
  if (ticking) {
    pthread_mutex_lock(&t.lock);
    t.done = true;
    pthread_cond_signal(&t.cond);
    pthread_mutex_unlock(&t.lock);
    pthread_join(t.thread, NULL);
  }
  pthread_cond_destroy(&t.cond);
  pthread_mutex_destroy(&t.lock);
  free(code);
  mw_compiler_free(compiler);

  int rc = MW_EXIT_OK;
  char *wasm_key = NULL, *cwasm_key = NULL;
  if (err) {
    if (mw_error_status(err) == MW_ERR_COMPILE) {
      fprintf(stderr, "%s\n", mw_error_message(err));
      mw_error_free(err);
      rc = MW_EXIT_GUEST_ERR;
    } else {
      rc = cli_fail(err, "compile");
    }
    goto done;
  }
  size_t wasm_len = 0;
  const uint8_t *wasm = mw_compile_result_wasm(res, &wasm_len);
  const char *warnings = mw_compile_result_warnings(res);
  if (*warnings && !quiet) fprintf(stderr, "%s\n", warnings);
  FILE *f = fopen(out_path, "wb");
  if (!f || fwrite(wasm, 1, wasm_len, f) != wasm_len || fclose(f) != 0) {
    fprintf(stderr, "marie-wasm: %s: %s\n", out_path, strerror(errno));
    if (f) unlink(out_path);
    rc = MW_EXIT_FAILURE;
    goto done;
  }
  if (!quiet)
    fprintf(stderr, "marie-wasm: wrote %s (%.1f KiB, sha256 %.16s…)%s\n", out_path,
            (double)wasm_len / 1024.0, mw_compile_result_sha256(res),
            mw_compile_result_cached(res) ? " from the cache" : "");
  if (precompile) {
    mw_engine_t *engine = NULL;
    mw_component_t *c = NULL;
    if (!quiet) fprintf(stderr, "marie-wasm: precompiling to %s\n", cwasm_path);
    err = cli_engine(&engine);
    if (!err) err = mw_component_new(engine, wasm, wasm_len, &c);
    if (!err) err = mw_component_write_artifact(c, cwasm_path);
    mw_component_free(c);
    mw_engine_free(engine);
    if (err) {
      rc = cli_fail(err, "precompile");
      goto done;
    }
  }
  if (store) {
    rc = store_artifacts(store, node_id, mw_compile_result_sha256(res), wasm, wasm_len,
                         cwasm_path, &wasm_key, &cwasm_key);
    if (rc) goto done;
    if (!quiet)
      fprintf(stderr, "marie-wasm: stored %s%s%s\n", wasm_key, cwasm_key ? " and " : "",
              cwasm_key ? cwasm_key : "");
  }
  if (json) {
    printf("{\"language\":\"%s\",\"wasm\":", mw_language_name(lang));
    json_string(stdout, out_path);
    printf(",\"size\":%zu,\"sha256\":\"%s\",\"cache_key\":\"%s\",\"cached\":%s,"
           "\"ms\":%llu",
           wasm_len, mw_compile_result_sha256(res), mw_compile_result_key(res),
           mw_compile_result_cached(res) ? "true" : "false",
           (unsigned long long)mw_compile_result_ms(res));
    if (cwasm_path) printf(",\"cwasm\":"), json_string(stdout, cwasm_path);
    if (wasm_key) printf(",\"store_key\":"), json_string(stdout, wasm_key);
    if (cwasm_key) printf(",\"store_cwasm_key\":"), json_string(stdout, cwasm_key);
    printf("}\n");
  }
done:
  free(wasm_key);
  free(cwasm_key);
  mw_compile_result_free(res);
  free(out_path);
  free(cwasm_path);
  return rc;
}
