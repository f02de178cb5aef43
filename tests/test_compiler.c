/*
 * test_compiler.c - the compiler service's driver: cache hits and misses,
 * what the cache key covers, one toolchain run for concurrent compiles of
 * one key, diagnostics on the user's file name, and every failure mapped to
 * a clear error.
 *
 * The toolchain here is a stand-in compile.sh (written below) with the
 * contract of guest/<language>/compile.sh, run in the real sandbox; it
 * emits a real component (the echo test component). The real languages'
 * toolchains are exercised by tests/guest/<language>/run_tests.sh.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "util/file.h"

static char root[64];
static char guest[128], wit[128], toolchain[128], cache[128];

static const char fake_compile[] =
    "#!/bin/bash\n"
    "# compile.sh USER_FILE OUT.wasm WORKDIR, like the real ones\n"
    "set -u\n"
    "src=\"$1\" out=\"$2\"\n"
    "if line=$(grep -n SYNTAX \"$src\" | head -1 | cut -d: -f1) && [ -n \"$line\" ]; then\n"
    "  echo \"$src:$line:5: SyntaxError: invalid syntax\" >&2; exit 1\n"
    "fi\n"
    "grep -q SLEEP \"$src\" && sleep 120\n"
    "if grep -q BROKEN \"$src\"; then echo 'toolchain exploded' >&2; exit 70; fi\n"
    "if grep -q GARBAGE \"$src\"; then echo 'not wasm' > \"$out\"; exit 0; fi\n"
    "if grep -q ESCAPE \"$src\"; then\n"
    "  { cat /etc/shadow || echo no-shadow; ls /root || echo no-root;\n"
    "    echo x > \"$MW_PYTHON_TOOLCHAIN/pwned\" || echo no-write;\n"
    "    (exec 3<>/dev/tcp/127.0.0.1/22) || echo no-network; } >&2 2>&1\n"
    "fi\n"
    "grep -q SLOW \"$src\" && sleep 1\n"
    "cp \"$MW_PYTHON_TOOLCHAIN/component.wasm\" \"$out\"\n"
    "echo 'note: built by the stand-in toolchain' >&2\n";

static void write_text(const char *path, const char *text, mode_t mode) {
  TU_OK(mw__write_file_atomic(path, (const uint8_t *)text, strlen(text), mode));
}

static int setup(void **state) {
  (void)state;
  char path[256];
  snprintf(root, sizeof root, "/tmp/mw-compiler-XXXXXX");
  if (!mkdtemp(root) || chmod(root, 0755) != 0) return -1;
  snprintf(guest, sizeof guest, "%s/guest", root);
  snprintf(wit, sizeof wit, "%s/wit", root);
  snprintf(toolchain, sizeof toolchain, "%s/toolchains/python", root);
  snprintf(cache, sizeof cache, "%s/cache", root);
  snprintf(path, sizeof path, "%s/python", guest);
  if (mw__make_dirs(path, 0755) || mw__make_dirs(wit, 0755) ||
      mw__make_dirs(toolchain, 0755))
    return -1;
  snprintf(path, sizeof path, "%s/python/compile.sh", guest);
  write_text(path, fake_compile, 0755);
  snprintf(path, sizeof path, "%s/marie-node.wit", wit);
  write_text(path, "package marie:node@1.0.0;\n", 0644);
  snprintf(path, sizeof path, "%s/.toolchain-id", toolchain);
  write_text(path, "stand-in 1\n", 0644);
  uint8_t *wasm = NULL;
  size_t len = 0;
  TU_OK(mw__read_file(tu_path("echo"), 64u << 20, &wasm, &len));
  snprintf(path, sizeof path, "%s/component.wasm", toolchain);
  TU_OK(mw__write_file_atomic(path, wasm, len, 0644));
  free(wasm);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mw_error_t *err = mw__remove_tree(root);
  mw_error_free(err);
  return err ? -1 : 0;
}

static mw_compiler_t *new_compiler(uint32_t timeout_ms, bool with_cache) {
  mw_compiler_config_t *cfg = mw_compiler_config_new();
  assert_non_null(cfg);
  TU_OK(mw_compiler_config_guest_dir(cfg, guest));
  TU_OK(mw_compiler_config_wit_dir(cfg, wit));
  TU_OK(mw_compiler_config_toolchain(cfg, MW_LANG_PYTHON, toolchain));
  /* Not installed, whatever the machine has. */
  TU_OK(mw_compiler_config_toolchains_dir(cfg, "/nonexistent/toolchains"));
  TU_OK(mw_compiler_config_cache_dir(cfg, with_cache ? cache : NULL));
  if (timeout_ms) mw_compiler_config_timeout_ms(cfg, timeout_ms);
  mw_compiler_t *c = NULL;
  TU_OK(mw_compiler_new(cfg, &c));
  mw_compiler_config_free(cfg);
  return c;
}

static mw_compile_result_t *compile_ok(mw_compiler_t *c, const char *code) {
  mw_compile_result_t *r = NULL;
  TU_OK(mw_compile(c, MW_LANG_PYTHON, code, strlen(code), "my_node.py", NULL, NULL, &r));
  assert_non_null(r);
  return r;
}

/* The status of compiling code, and its message in msg. */
static mw_status_t compile_err(mw_compiler_t *c, const char *code, char *msg, size_t n) {
  mw_compile_result_t *r = NULL;
  mw_error_t *err =
      mw_compile(c, MW_LANG_PYTHON, code, strlen(code), "my_node.py", NULL, NULL, &r);
  assert_non_null(err);
  assert_null(r);
  snprintf(msg, n, "%s", mw_error_message(err));
  mw_status_t st = mw_error_status(err);
  mw_error_free(err);
  return st;
}

static void languages_parse_by_name_alias_and_extension(void **state) {
  (void)state;
  mw_language_t l;
  TU_OK(mw_language_parse("Python", &l));
  assert_int_equal(l, MW_LANG_PYTHON);
  TU_OK(mw_language_parse("ts", &l));
  assert_int_equal(l, MW_LANG_TYPESCRIPT);
  TU_OK(mw_language_parse(".mjs", &l));
  assert_int_equal(l, MW_LANG_JAVASCRIPT);
  TU_OK(mw_language_parse("rs", &l));
  assert_int_equal(l, MW_LANG_RUST);
  TU_OK(mw_language_parse(".c", &l));
  assert_int_equal(l, MW_LANG_C);
  assert_string_equal(mw_language_name(MW_LANG_TYPESCRIPT), "typescript");
  assert_null(mw_language_name((mw_language_t)42));
  mw_error_t *err = mw_language_parse("cobol", &l);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_non_null(strstr(mw_error_message(err), "cobol"));
  mw_error_free(err);
}

typedef struct progress_log {
  char text[2048];
} progress_log_t;

static void record(void *ud, const char *stage, const char *message) {
  progress_log_t *p = ud;
  size_t n = strlen(p->text);
  snprintf(p->text + n, sizeof p->text - n, "%s: %s\n", stage, message);
}

static void compiles_a_runnable_component_then_hits_the_cache(void **state) {
  (void)state;
  mw_compiler_t *c = new_compiler(0, true);
  const char *code = "def execute(a, b, c):\n    return {'ok': a}\n";
  progress_log_t p1 = {{0}}, p2 = {{0}};
  mw_compile_result_t *r1 = NULL, *r2 = NULL;
  TU_OK(mw_compile(c, MW_LANG_PYTHON, code, strlen(code), NULL, record, &p1, &r1));
  assert_false(mw_compile_result_cached(r1));
  assert_non_null(strstr(p1.text, "compile: compiling node.py (python)"));
  assert_non_null(strstr(p1.text, "done: compiled node.py"));
  assert_non_null(strstr(mw_compile_result_warnings(r1), "stand-in toolchain"));

  /* A real component: it loads and runs. */
  size_t len = 0;
  const uint8_t *wasm = mw_compile_result_wasm(r1, &len);
  mw_component_t *comp = NULL;
  TU_OK(mw_component_new(tu_engine(), wasm, len, &comp));
  assert_string_equal(mw_component_sha256(comp), mw_compile_result_sha256(r1));
  mw_component_free(comp);

  TU_OK(mw_compile(c, MW_LANG_PYTHON, code, strlen(code), NULL, record, &p2, &r2));
  assert_true(mw_compile_result_cached(r2));
  assert_non_null(strstr(p2.text, "cache: cache hit"));
  assert_string_equal(mw_compile_result_sha256(r1), mw_compile_result_sha256(r2));
  assert_string_equal(mw_compile_result_key(r1), mw_compile_result_key(r2));
  assert_true(mw_compile_result_ms(r2) < mw_compile_result_ms(r1));
  mw_compile_result_free(r1);
  mw_compile_result_free(r2);
  mw_compiler_free(c);
}

static void the_key_covers_code_toolchain_and_wrapper(void **state) {
  (void)state;
  char path[256], key1[65];
  mw_compiler_t *c = new_compiler(0, true);
  mw_compile_result_t *r = compile_ok(c, "code A\n");
  snprintf(key1, sizeof key1, "%s", mw_compile_result_key(r));
  mw_compile_result_free(r);
  r = compile_ok(c, "code B\n"); /* other code */
  assert_false(mw_compile_result_cached(r));
  assert_string_not_equal(mw_compile_result_key(r), key1);
  mw_compile_result_free(r);

  snprintf(path, sizeof path, "%s/.toolchain-id", toolchain); /* toolchain upgrade */
  write_text(path, "stand-in 2\n", 0644);
  r = compile_ok(c, "code A\n");
  assert_false(mw_compile_result_cached(r));
  assert_string_not_equal(mw_compile_result_key(r), key1);
  mw_compile_result_free(r);
  write_text(path, "stand-in 1\n", 0644);
  r = compile_ok(c, "code A\n");
  assert_true(mw_compile_result_cached(r));
  mw_compile_result_free(r);
  mw_compiler_free(c);

  /* A changed wrapper file (a new compiler reads the wrapper again). */
  snprintf(path, sizeof path, "%s/python/prelude.py", guest);
  write_text(path, "# wrapper v2\n", 0644);
  c = new_compiler(0, true);
  r = compile_ok(c, "code A\n");
  assert_false(mw_compile_result_cached(r));
  mw_compile_result_free(r);
  unlink(path);
  mw_compiler_free(c);
}

typedef struct racer {
  mw_compiler_t *c;
  mw_compile_result_t *r;
} racer_t;

static void *race(void *arg) {
  racer_t *x = arg;
  const char *code = "SLOW concurrent\n";
  mw_error_t *err = mw_compile(x->c, MW_LANG_PYTHON, code, strlen(code), NULL, NULL,
                               NULL, &x->r);
  mw_error_free(err);
  return NULL;
}

static void concurrent_compiles_of_one_key_run_the_toolchain_once(void **state) {
  (void)state;
  mw_compiler_t *c = new_compiler(0, true);
  racer_t racers[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    racers[i] = (racer_t){c, NULL};
    assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
  }
  int built = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_non_null(racers[i].r);
    if (!mw_compile_result_cached(racers[i].r)) built++;
    assert_string_equal(mw_compile_result_sha256(racers[i].r),
                        mw_compile_result_sha256(racers[0].r));
  }
  assert_int_equal(built, 1);
  for (int i = 0; i < 4; i++) mw_compile_result_free(racers[i].r);
  mw_compiler_free(c);
}

static void diagnostics_name_the_users_file_and_line(void **state) {
  (void)state;
  char msg[1024];
  mw_compiler_t *c = new_compiler(0, true);
  assert_int_equal(compile_err(c, "ok\nok\nSYNTAX here\n", msg, sizeof msg),
                   MW_ERR_COMPILE);
  assert_string_equal(msg, "my_node.py:3:5: SyntaxError: invalid syntax");
  /* Failures are not cached: the same code fails the same way again. */
  assert_int_equal(compile_err(c, "ok\nok\nSYNTAX here\n", msg, sizeof msg),
                   MW_ERR_COMPILE);
  mw_compiler_free(c);
}

static void failures_map_to_clear_errors(void **state) {
  (void)state;
  char msg[2048];
  mw_compiler_t *c = new_compiler(2000, false);
  time_t t0 = time(NULL);
  assert_int_equal(compile_err(c, "SLEEP\n", msg, sizeof msg), MW_ERR_LIMIT);
  assert_non_null(strstr(msg, "longer than the 2 s limit"));
  assert_true(time(NULL) - t0 < 30);

  assert_int_equal(compile_err(c, "BROKEN\n", msg, sizeof msg), MW_ERR_BACKEND);
  assert_non_null(strstr(msg, "python toolchain failed (exit 70)"));
  assert_non_null(strstr(msg, "toolchain exploded"));

  assert_int_equal(compile_err(c, "GARBAGE\n", msg, sizeof msg), MW_ERR_BACKEND);
  assert_non_null(strstr(msg, "not a component"));

  assert_int_equal(compile_err(c, "", msg, sizeof msg), MW_ERR_INPUT);
  assert_non_null(strstr(msg, "empty"));
  size_t big = (1u << 20) + 1;
  char *huge = malloc(big + 1);
  assert_non_null(huge);
  memset(huge, 'x', big);
  huge[big] = '\0';
  assert_int_equal(compile_err(c, huge, msg, sizeof msg), MW_ERR_INPUT);
  assert_non_null(strstr(msg, "more than"));
  free(huge);

  mw_compile_result_t *r = NULL;
  mw_error_t *err = mw_compile(c, MW_LANG_RUST, "fn x(){}", 8, NULL, NULL, NULL, &r);
  assert_int_equal(mw_error_status(err), MW_ERR_BACKEND);
  assert_non_null(strstr(mw_error_message(err), "rust toolchain is not installed"));
  assert_non_null(strstr(mw_error_message(err), "install-toolchain.sh"));
  mw_error_free(err);
  mw_compiler_free(c);

  mw_compiler_config_t *cfg = mw_compiler_config_new();
  TU_OK(mw_compiler_config_guest_dir(cfg, "/nonexistent/guest"));
  mw_compiler_t *none = NULL;
  err = mw_compiler_new(cfg, &none);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_non_null(strstr(mw_error_message(err), "/nonexistent/guest"));
  assert_null(none);
  mw_error_free(err);
  mw_compiler_config_free(cfg);
}

static void the_build_cannot_escape_its_sandbox(void **state) {
  (void)state;
  char path[256];
  mw_compiler_t *c = new_compiler(0, false);
  mw_compile_result_t *r = compile_ok(c, "ESCAPE\n");
  const char *w = mw_compile_result_warnings(r);
  assert_non_null(strstr(w, "no-shadow"));
  assert_non_null(strstr(w, "no-root"));
  assert_non_null(strstr(w, "no-write"));
  assert_non_null(strstr(w, "no-network"));
  snprintf(path, sizeof path, "%s/pwned", toolchain);
  assert_int_not_equal(access(path, F_OK), 0);
  mw_compile_result_free(r);
  mw_compiler_free(c);
}

static void a_tampered_cache_entry_is_a_miss(void **state) {
  (void)state;
  char path[256];
  mw_compiler_t *c = new_compiler(0, true);
  mw_compile_result_t *r = compile_ok(c, "tamper me\n");
  char key[65], sha[65];
  snprintf(key, sizeof key, "%s", mw_compile_result_key(r));
  snprintf(sha, sizeof sha, "%s", mw_compile_result_sha256(r));
  mw_compile_result_free(r);
  snprintf(path, sizeof path, "%s/%.2s/%s.wasm", cache, key, key);
  write_text(path, "\0asm evil", 0600);
  r = compile_ok(c, "tamper me\n");
  assert_false(mw_compile_result_cached(r)); /* rebuilt, not served */
  assert_string_equal(mw_compile_result_sha256(r), sha);
  mw_compile_result_free(r);
  r = compile_ok(c, "tamper me\n"); /* and the entry is good again */
  assert_true(mw_compile_result_cached(r));
  mw_compile_result_free(r);
  mw_compiler_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(languages_parse_by_name_alias_and_extension),
      cmocka_unit_test(compiles_a_runnable_component_then_hits_the_cache),
      cmocka_unit_test(the_key_covers_code_toolchain_and_wrapper),
      cmocka_unit_test(concurrent_compiles_of_one_key_run_the_toolchain_once),
      cmocka_unit_test(diagnostics_name_the_users_file_and_line),
      cmocka_unit_test(failures_map_to_clear_errors),
      cmocka_unit_test(the_build_cannot_escape_its_sandbox),
      cmocka_unit_test(a_tampered_cache_entry_is_a_miss),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
