/*
 * test_storage.c - the local artifact store: the node key layout, keys
 * that could escape the store, atomic writes, and integrity checks on read;
 * and the checks of S3 locations and settings, which need no server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mw-store-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}


static void node_keys_follow_the_original_layout(void **state) {
  (void)state;
  char sha[65];
  mw_sha256_hex((const uint8_t *)"abc", 3, sha);
  assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char *key = NULL;
  TU_OK(mw_store_node_key("my-node-123", sha, ".wasm", &key));
  assert_string_equal(key, "wasm/nodes/my-node-123/ba7816bf8f01cfea414140de.wasm");
  free(key);
  const char *bad[] = {"", "../x", "a/b", ".hidden", "x y", NULL};
  for (size_t i = 0; bad[i]; i++) {
    mw_error_t *err = mw_store_node_key(bad[i], sha, ".wasm", &key);
    if (mw_error_status(err) != MW_ERR_INPUT) fail_msg("node_id '%s' accepted", bad[i]);
    assert_null(key);
    mw_error_free(err);
  }
}

static void round_trip_with_integrity(void **state) {
  (void)state;
  mw_store_t *s = NULL;
  TU_OK(mw_store_open(dir, &s));
  const char *data = "component bytes";
  char sha[65];
  mw_sha256_hex((const uint8_t *)data, strlen(data), sha);
  TU_OK(mw_store_put(s, "wasm/nodes/n-1/a.wasm", (const uint8_t *)data, strlen(data)));
  uint8_t *out = NULL;
  size_t len = 0;
  TU_OK(mw_store_get(s, "wasm/nodes/n-1/a.wasm", sha, &out, &len));
  assert_int_equal(len, strlen(data));
  assert_memory_equal(out, data, len);
  free(out);
  /* Overwrite is atomic: the new content, no temp files left behind. */
  TU_OK(mw_store_put(s, "wasm/nodes/n-1/a.wasm", (const uint8_t *)"v2", 2));
  TU_OK(mw_store_get(s, "wasm/nodes/n-1/a.wasm", NULL, &out, &len));
  assert_int_equal(len, 2);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/wasm/nodes/n-1", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* A swapped or corrupted artifact is refused. */
  mw_error_t *err = mw_store_get(s, "wasm/nodes/n-1/a.wasm", sha, &out, &len);
  assert_int_equal(mw_error_status(err), MW_ERR_ARTIFACT);
  assert_non_null(strstr(mw_error_message(err), "corrupt"));
  assert_null(out);
  mw_error_free(err);
  err = mw_store_get(s, "wasm/nodes/n-1/missing.wasm", NULL, &out, &len);
  assert_int_equal(mw_error_status(err), MW_ERR_IO);
  assert_non_null(strstr(mw_error_message(err), "not found"));
  mw_error_free(err);
  snprintf(path, sizeof path, "%s/wasm/nodes/n-1/a.wasm", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/wasm/nodes/n-1", dir);
  rmdir(path);
  snprintf(path, sizeof path, "%s/wasm/nodes", dir);
  rmdir(path);
  snprintf(path, sizeof path, "%s/wasm", dir);
  rmdir(path);
  mw_store_free(s);
  assert_int_equal(rmdir(dir), 0); /* nothing else was written */
}

static void keys_cannot_escape_the_store(void **state) {
  (void)state;
  mw_store_t *s = NULL;
  char sub[80];
  snprintf(sub, sizeof sub, "%s-esc", dir);
  TU_OK(mw_store_open(sub, &s));
  const char *bad[] = {"../x", "a/../../x", "/etc/passwd", "a//b", "a/./b",
                       "a/", "", "a b", "a\\b", "..", NULL};
  for (size_t i = 0; bad[i]; i++) {
    mw_error_t *err = mw_store_put(s, bad[i], (const uint8_t *)"x", 1);
    if (mw_error_status(err) != MW_ERR_INPUT) fail_msg("key '%s' accepted", bad[i]);
    mw_error_free(err);
  }
  mw_error_t *err = NULL;
  mw_store_t *t = NULL;
  err = mw_store_open("ftp://host/dir", &t);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_null(t);
  mw_error_free(err);
  mw_store_free(s);
  assert_int_equal(rmdir(sub), 0);
}

static void s3_expect_input_error(const char *location, const char *part) {
  mw_store_t *s = NULL;
  mw_error_t *err = mw_store_open(location, &s);
  if (mw_error_status(err) != MW_ERR_INPUT)
    fail_msg("'%s' opened (%s)", location, err ? mw_error_message(err) : "no error");
  if (part && !strstr(mw_error_message(err), part))
    fail_msg("'%s' not in: %s", part, mw_error_message(err));
  if (strstr(mw_error_message(err), "s3cr3t"))
    fail_msg("credential in: %s", mw_error_message(err));
  assert_null(s);
  mw_error_free(err);
}

/* The S3 backend's location and environment are checked when the store
 * is opened; nothing is contacted until the first put or get (the S3 tests
 * against a server are in test_storage_s3.c). */
static void s3_locations_and_settings_are_checked(void **state) {
  (void)state;
  const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                        "AWS_SESSION_TOKEN", "AWS_REGION",
                        "AWS_DEFAULT_REGION", "MW_S3_ENDPOINT",
                        "MW_S3_TIMEOUT_MS"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
  s3_expect_input_error("s3://my-bucket", "AWS_ACCESS_KEY_ID");
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t/key", 1);
  mw_store_t *s = NULL;
  const char *good[] = {"s3://my-bucket", "s3://my-bucket/", "s3://my.bucket.1/a/b/",
                        "s3://my-bucket/team one/a+b", NULL};
  for (size_t i = 0; good[i]; i++) {
    TU_OK(mw_store_open(good[i], &s));
    mw_store_free(s);
  }
  const char *bad_buckets[] = {"s3://ab", "s3://My-Bucket", "s3://-bucket",
                               "s3://bucket-", "s3://a..b", "s3://bucket_1",
                               "s3://b/../x", NULL};
  for (size_t i = 0; bad_buckets[i]; i++)
    s3_expect_input_error(bad_buckets[i], NULL);
  s3_expect_input_error("s3://my-bucket/a/../b", "prefix");
  s3_expect_input_error("s3://my-bucket/a//b", "prefix");
  s3_expect_input_error("s3://my-bucket/a\tb", "prefix");
  setenv("AWS_REGION", "us east", 1);
  s3_expect_input_error("s3://my-bucket", "region");
  unsetenv("AWS_REGION");
  const char *bad_endpoints[] = {"ftp://127.0.0.1:9000", "http://user:pw@host",
                                 "http://host/?x=1", "http://", "127.0.0.1:9000",
                                 NULL};
  for (size_t i = 0; bad_endpoints[i]; i++) {
    setenv("MW_S3_ENDPOINT", bad_endpoints[i], 1);
    s3_expect_input_error("s3://my-bucket", "MW_S3_ENDPOINT");
  }
  setenv("MW_S3_ENDPOINT", "http://127.0.0.1:9000/", 1);
  TU_OK(mw_store_open("s3://my-bucket", &s));
  mw_store_free(s);
  const char *bad_timeouts[] = {"abc", "0", "-5", "10ms", NULL};
  for (size_t i = 0; bad_timeouts[i]; i++) {
    setenv("MW_S3_TIMEOUT_MS", bad_timeouts[i], 1);
    s3_expect_input_error("s3://my-bucket", "MW_S3_TIMEOUT_MS");
  }
  unsetenv("MW_S3_TIMEOUT_MS");
  /* A header-breaking credential is refused without being echoed. */
  setenv("AWS_SESSION_TOKEN", "s3cr3t\r\nX-Evil: 1", 1);
  s3_expect_input_error("s3://my-bucket", "control characters");
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(node_keys_follow_the_original_layout),
      cmocka_unit_test(round_trip_with_integrity),
      cmocka_unit_test(keys_cannot_escape_the_store),
      cmocka_unit_test(s3_locations_and_settings_are_checked),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
