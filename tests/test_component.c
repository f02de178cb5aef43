/*
 * test_component.c - loading components: the world check (imports, export
 * type), precompiled artifacts and the compilation cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "test_util.h"

static void load_error(const char *path, mw_status_t st, const char *needle) {
  mw_component_t *c = NULL;
  mw_error_t *err = mw_component_load_file(tu_engine(), path, &c);
  assert_null(c);
  if (mw_error_status(err) != st || !strstr(mw_error_message(err), needle))
    fail_msg("%s: got %s '%s'", path, mw_status_name(mw_error_status(err)),
             mw_error_message(err));
  mw_error_free(err);
}

static void foreign_import_is_refused_by_name(void **state) {
  (void)state;
  load_error(tu_path("badimport"), MW_ERR_COMPONENT, "import 'evil:net/raw'");
  /* inspect still describes it, and says why it does not fit. */
  mw_component_t *c = NULL;
  TU_OK(mw_component_inspect_file(tu_engine(), tu_path("badimport"), &c));
  assert_non_null(strstr(mw_component_problems(c), "evil:net/raw"));
  mw_result_t *r = NULL;
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  mw_error_t *err = mw_execute(tu_engine(), c, req, &r);
  assert_int_equal(mw_error_status(err), MW_ERR_COMPONENT);
  mw_error_free(err);
  mw_request_free(req);
  mw_component_free(c);
}

static void wrong_execute_type_is_refused(void **state) {
  (void)state;
  load_error(tu_path("badexport"), MW_ERR_COMPONENT,
             "export 'execute' has the wrong type: func(x: u32) -> u32");
}

static void garbage_is_not_a_component(void **state) {
  (void)state;
  tu_engine();
  char path[] = "/tmp/mw-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "\0asm\x01\0\0\0garbage", 15), 15);
  close(fd);
  load_error(path, MW_ERR_COMPONENT, "not a valid WebAssembly component");
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_int_equal(write(fd, "hello", 5), 5);
  close(fd);
  load_error(path, MW_ERR_COMPONENT, "neither a WebAssembly component");
  unlink(path);
  load_error("/nonexistent/x.wasm", MW_ERR_IO, "No such file");
  mw_component_t *c = NULL;
  mw_error_t *err = mw_component_new(tu_engine(), (const uint8_t *)"", 0, &c);
  assert_int_equal(mw_error_status(err), MW_ERR_COMPONENT);
  mw_error_free(err);
}

static void capabilities_follow_imports(void **state) {
  (void)state;
  unsigned all = MW_CAP_HTTP | MW_CAP_SECRETS | MW_CAP_KV | MW_CAP_CONSOLE |
                 MW_CAP_EVENTS;
  assert_int_equal(mw_component_capabilities(tu_component("host")), all);
  assert_null(mw_component_problems(tu_component("host")));
  assert_int_equal(strlen(mw_component_sha256(tu_component("echo"))), 64);
  char *doc = NULL;
  TU_OK(mw_component_describe(tu_component("host"), &doc));
  assert_non_null(strstr(doc, "\"fits_world\": true"));
  assert_non_null(strstr(doc, "marie:node/kv@1.0.0"));
  assert_non_null(strstr(doc, "func(key: string) -> option<list<u8>>"));
  free(doc);
}

static void artifact_round_trip(void **state) {
  (void)state;
  char path[] = "/tmp/mw-test-XXXXXX.cwasm";
  int fd = mkstemps(path, 6);
  assert_true(fd >= 0);
  close(fd);
  TU_OK(mw_component_write_artifact(tu_component("echo"), path));
  mw_component_t *c = NULL;
  TU_OK(mw_component_load_file(tu_engine(), path, &c));
  mw_request_t *req;
  TU_OK(mw_request_new(&req));
  TU_OK(mw_request_add_item(req, "42", 2, NULL, 0));
  mw_result_t *r;
  TU_OK(mw_execute(tu_engine(), c, req, &r));
  assert_string_equal(tu_item(r, 0), "42");
  mw_result_free(r);
  mw_request_free(req);
  mw_component_free(c);
  /* A corrupted artifact is refused, never run. */
  FILE *f = fopen(path, "r+b");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, size / 2, SEEK_SET);
  for (int i = 0; i < 64; i++) fputc(0xAB, f);
  fclose(f);
  assert_int_equal(truncate(path, size * 3 / 4), 0);
  load_error(path, MW_ERR_ARTIFACT, "cannot load artifact");
  unlink(path);
}

static void artifact_from_another_engine_config_is_refused(void **state) {
  (void)state;
  tu_engine();
  char path[] = "/tmp/mw-test-XXXXXX.cwasm";
  int fd = mkstemps(path, 6);
  close(fd);
  TU_OK(mw_component_write_artifact(tu_component("echo"), path));
  /* Other compilation settings: a different wasm stack limit. */
  mw_engine_config_t *cfg = mw_engine_config_new();
  mw_engine_config_pooling(cfg, false);
  mw_engine_config_max_wasm_stack(cfg, 1 << 20);
  mw_engine_t *other = NULL;
  TU_OK(mw_engine_new(cfg, &other));
  mw_engine_config_free(cfg);
  mw_component_t *c = NULL;
  mw_error_t *err = mw_component_load_file(other, path, &c);
  if (err) {
    assert_int_equal(mw_error_status(err), MW_ERR_ARTIFACT);
    mw_error_free(err);
  } else {
    /* Compatible settings are accepted: then it must run correctly. */
    mw_request_t *req;
    TU_OK(mw_request_new(&req));
    mw_result_t *r;
    TU_OK(mw_execute(other, c, req, &r));
    assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
    mw_result_free(r);
    mw_request_free(req);
    mw_component_free(c);
  }
  mw_engine_free(other);
  unlink(path);
}

static void cache_dir_is_reused(void **state) {
  (void)state;
  tu_engine();
  char dir[] = "/tmp/mw-cache-XXXXXX";
  assert_non_null(mkdtemp(dir));
  mw_engine_config_t *cfg = mw_engine_config_new();
  TU_OK(mw_engine_config_cache_dir(cfg, dir));
  mw_engine_config_pool_instances(cfg, 2);
  mw_engine_t *e = NULL;
  TU_OK(mw_engine_new(cfg, &e));
  mw_engine_config_free(cfg);
  mw_component_t *c1 = NULL, *c2 = NULL;
  TU_OK(mw_component_load_file(e, tu_path("echo"), &c1));
  char cached[512];
  snprintf(cached, sizeof cached, "%s/%s-wasmtime-%s.cwasm", dir,
           mw_component_sha256(c1), mw_wasmtime_version());
  assert_int_equal(access(cached, R_OK), 0);
  TU_OK(mw_component_load_file(e, tu_path("echo"), &c2));
  assert_string_equal(mw_component_sha256(c1), mw_component_sha256(c2));
  /* A corrupt cache entry is replaced, not trusted. (Mapped artifacts are
   * never truncated in place: writers replace the file by rename.) */
  mw_component_free(c2);
  c2 = NULL;
  FILE *f = fopen(cached, "wb");
  fputs("junk", f);
  fclose(f);
  TU_OK(mw_component_load_file(e, tu_path("echo"), &c2));
  assert_null(mw_component_problems(c2));
  mw_component_free(c1);
  mw_component_free(c2);
  mw_engine_free(e);
  unlink(cached);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(foreign_import_is_refused_by_name),
      cmocka_unit_test(wrong_execute_type_is_refused),
      cmocka_unit_test(garbage_is_not_a_component),
      cmocka_unit_test(capabilities_follow_imports),
      cmocka_unit_test(artifact_round_trip),
      cmocka_unit_test(artifact_from_another_engine_config_is_refused),
      cmocka_unit_test(cache_dir_is_reused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
