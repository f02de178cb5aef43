/*
 * test_secrets.c - the built-in secrets providers: environment variables
 * and the encrypted file (its tooling, its key parsing, its resistance to a
 * wrong key or a damaged file), read by the `host` component through
 * secrets.get so the permission check stays in the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#define N(a) (sizeof(a) / sizeof *(a))
#define FOUND(v) "{\"op\":\"secret\",\"found\":true,\"value\":\"" v "\"}"
#define NOT_FOUND "{\"op\":\"secret\",\"found\":false}"

static char tmpdir[] = "/tmp/mw-secrets-test-XXXXXX";

/* "<tmpdir>/<name>" into out. */
static const char *tpath(char out[512], const char *name) {
  int n = snprintf(out, 512, "%s/%s", tmpdir, name);
  assert_true(n > 0 && n < 512);
  return out;
}

static void key_fill(uint8_t key[32], uint8_t seed) {
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(seed * 31 + i * 7);
}

static void key_hex(const uint8_t key[32], char out[65], bool upper) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[key[i] >> 4];
    out[2 * i + 1] = digits[key[i] & 15];
  }
  out[64] = '\0';
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint8_t *buf = malloc(1 << 16);
  assert_non_null(buf);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static void spit(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static bool has_log(const mw_result_t *r, const char *needle) {
  for (size_t i = 0; i < mw_result_log_count(r); i++)
    if (strstr(mw_result_log(r, i, NULL, NULL), needle)) return true;
  return false;
}

/* Expects err with status and a message containing want (and frees it). */
static void expect_err(mw_error_t *err, mw_status_t status, const char *want) {
  if (!err) fail_msg("expected %s, got success", mw_status_name(status));
  if (mw_error_status(err) != status || !strstr(mw_error_message(err), want))
    fail_msg("expected %s '%s', got %s '%s'", mw_status_name(status), want,
             mw_status_name(mw_error_status(err)), mw_error_message(err));
  mw_error_free(err);
}

static void expect_err_hides(mw_error_t *err, mw_status_t status,
                             const char *want, const char *secret) {
  assert_non_null(err);
  if (strstr(mw_error_message(err), secret))
    fail_msg("message leaks '%s': %s", secret, mw_error_message(err));
  expect_err(err, status, want);
}

/* ---- environment provider ------------------------------------------------ */

static void env_secret_found_only_when_allowed(void **state) {
  (void)state;
  setenv("MWTEST_SECRET_API_KEY", "env-k-123", 1);
  setenv("MWTEST_SECRET_OTHER", "env-o-456", 1);
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_secrets_env(h, "MWTEST_SECRET_"));
  /* The provider is a snapshot: later changes do not reach it. */
  setenv("MWTEST_SECRET_API_KEY", "changed", 1);
  setenv("MWTEST_SECRET_LATE", "late-value", 1);
  const char *cmds[] = {"secret API_KEY", "secret OTHER", "secret MISSING",
                        "secret LATE"};
  mw_result_t *r = tu_host_cmds(
      cmds, N(cmds),
      "{\"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\", "
      "\"MISSING\", \"LATE\"]}",
      h);
  assert_string_equal(tu_item(r, 0), FOUND("env-k-123"));
  assert_string_equal(tu_item(r, 1), NOT_FOUND); /* set, but not allowed */
  assert_string_equal(tu_item(r, 2), NOT_FOUND);
  assert_string_equal(tu_item(r, 3), NOT_FOUND);
  assert_true(has_log(r, "secrets.get('OTHER') denied"));
  mw_result_free(r);
  mw_host_free(h);
  unsetenv("MWTEST_SECRET_API_KEY");
  unsetenv("MWTEST_SECRET_OTHER");
  unsetenv("MWTEST_SECRET_LATE");
}

static void env_prefix_is_required(void **state) {
  (void)state;
  mw_host_t *h = mw_host_new();
  expect_err(mw_host_use_secrets_env(h, ""), MW_ERR_INPUT, "must not be empty");
  expect_err(mw_host_use_secrets_env(h, "A=B"), MW_ERR_INPUT, "'='");
  expect_err(mw_host_use_secrets_env(h, NULL), MW_ERR_MISUSE, "NULL");
  expect_err(mw_host_use_secrets_env(NULL, "P_"), MW_ERR_MISUSE, "NULL");
  /* Nothing was installed: even PATH is not a secret. */
  const char *cmds[] = {"secret PATH"};
  mw_result_t *r = tu_host_cmds(
      cmds, 1, "{\"allow_secrets\": true, \"secret_allowed_names\": [\"PATH\"]}",
      h);
  assert_string_equal(tu_item(r, 0), NOT_FOUND);
  mw_result_free(r);
  mw_host_free(h);
}

/* A non-UTF-8 value cannot become a WIT string: refused up front, naming
 * the variable but not the value. */
static void env_value_must_be_utf8(void **state) {
  (void)state;
  setenv("MWTEST_BAD_X", "ab\xff\xfe", 1);
  mw_host_t *h = mw_host_new();
  expect_err_hides(mw_host_use_secrets_env(h, "MWTEST_BAD_"), MW_ERR_INPUT,
                   "MWTEST_BAD_X", "ab\xff");
  mw_host_free(h);
  unsetenv("MWTEST_BAD_X");
}

/* ---- encrypted file -------------------------------------------------------- */

static void names_are(const char *path, const uint8_t key[32],
                      const char *const *want, size_t n) {
  char **names;
  size_t count;
  TU_OK(mw_secrets_file_list(path, key, &names, &count));
  assert_int_equal(count, n);
  for (size_t i = 0; i < n; i++) assert_string_equal(names[i], want[i]);
  mw_strings_free(names, count);
}

static void file_round_trip_through_a_node(void **state) {
  (void)state;
  char p[512];
  const char *path = tpath(p, "round.enc");
  uint8_t key[32];
  key_fill(key, 1);
  TU_OK(mw_secrets_file_set(path, key, "DB_PASS", "first"));
  TU_OK(mw_secrets_file_set(path, key, "API_KEY", "file-k-123"));
  TU_OK(mw_secrets_file_set(path, key, "DB_PASS", "hunter2-db"));
  TU_OK(mw_secrets_file_set(path, key, "GONE", "soon-removed"));
  const char *three[] = {"API_KEY", "DB_PASS", "GONE"};
  names_are(path, key, three, 3);
  TU_OK(mw_secrets_file_set(path, key, "GONE", NULL));
  const char *two[] = {"API_KEY", "DB_PASS"};
  names_are(path, key, two, 2);
  expect_err(mw_secrets_file_set(path, key, "GONE", NULL), MW_ERR_INPUT,
             "no secret named 'GONE'");

  /* Owner-only, and no plaintext on disk. */
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  size_t len;
  uint8_t *bytes = slurp(path, &len);
  assert_memory_equal(bytes, "MWSECRETS\n\x01", 11);
  assert_null(memmem(bytes, len, "hunter2", 7));
  assert_null(memmem(bytes, len, "API_KEY", 7));
  free(bytes);

  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_secrets_file(h, path, key));
  const char *cmds[] = {"secret API_KEY", "secret DB_PASS", "secret GONE"};
  mw_result_t *r = tu_host_cmds(
      cmds, N(cmds),
      "{\"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\", "
      "\"DB_PASS\", \"GONE\"]}",
      h);
  assert_string_equal(tu_item(r, 0), FOUND("file-k-123"));
  assert_string_equal(tu_item(r, 1), FOUND("hunter2-db"));
  assert_string_equal(tu_item(r, 2), NOT_FOUND);
  mw_result_free(r);
  mw_host_free(h);
}

static void file_permissions_still_apply(void **state) {
  (void)state;
  char p[512];
  const char *path = tpath(p, "perms.enc");
  uint8_t key[32];
  key_fill(key, 2);
  TU_OK(mw_secrets_file_set(path, key, "ALLOWED", "value-a-1"));
  TU_OK(mw_secrets_file_set(path, key, "PRIVATE", "value-p-2"));
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_secrets_file(h, path, key));
  const char *cmds[] = {"secret ALLOWED", "secret PRIVATE"};
  mw_result_t *r = tu_host_cmds(
      cmds, 2,
      "{\"allow_secrets\": true, \"secret_allowed_names\": [\"ALLOWED\"]}", h);
  assert_string_equal(tu_item(r, 0), FOUND("value-a-1"));
  assert_string_equal(tu_item(r, 1), NOT_FOUND);
  assert_true(has_log(r, "secrets.get('PRIVATE') denied"));
  mw_result_free(r);
  r = tu_host_cmds(cmds, 1, "{\"secret_allowed_names\": [\"ALLOWED\"]}", h);
  assert_string_equal(tu_item(r, 0), NOT_FOUND); /* allow_secrets is false */
  mw_result_free(r);
  mw_host_free(h);
}

static void file_wrong_key_is_refused_without_leaking(void **state) {
  (void)state;
  char p[512];
  const char *path = tpath(p, "wrongkey.enc");
  uint8_t key[32], other[32];
  key_fill(key, 3);
  key_fill(other, 4);
  char other_hex[65];
  key_hex(other, other_hex, false);
  TU_OK(mw_secrets_file_set(path, key, "TOKEN", "tok-secret-9"));
  size_t before_len, after_len;
  uint8_t *before = slurp(path, &before_len);

  mw_host_t *h = mw_host_new();
  expect_err_hides(mw_host_use_secrets_file(h, path, other), MW_ERR_INPUT,
                   "wrong key or corrupt file", "tok-secret-9");
  mw_host_free(h);
  char **names = (char **)1;
  size_t count = 9;
  expect_err(mw_secrets_file_list(path, other, &names, &count), MW_ERR_INPUT,
             "wrong key or corrupt file");
  assert_null(names);
  assert_int_equal(count, 0);
  /* A set with the wrong key must not replace the file. */
  mw_error_t *err = mw_secrets_file_set(path, other, "TOKEN", "overwritten");
  expect_err_hides(err, MW_ERR_INPUT, "wrong key or corrupt file", other_hex);
  uint8_t *after = slurp(path, &after_len);
  assert_int_equal(before_len, after_len);
  assert_memory_equal(before, after, before_len);
  free(before);
  free(after);
}

static void file_damage_is_detected(void **state) {
  (void)state;
  char p[512], q[512];
  const char *path = tpath(p, "damage.enc");
  const char *bad = tpath(q, "damaged.enc");
  uint8_t key[32];
  key_fill(key, 5);
  TU_OK(mw_secrets_file_set(path, key, "NAME", "damage-secret"));
  size_t len;
  uint8_t *good = slurp(path, &len);
  assert_true(len > 23 + 16);
  /* Magic, version, nonce, ciphertext, tag: each flip is caught. */
  const struct {
    size_t at;
    const char *want;
  } flips[] = {{0, "not a marie-wasm secrets file"},
               {10, "version 0 is not supported"},
               {11, "wrong key or corrupt file"},
               {22, "wrong key or corrupt file"},
               {23, "wrong key or corrupt file"},
               {len - 17, "wrong key or corrupt file"},
               {len - 1, "wrong key or corrupt file"}};
  mw_host_t *h = mw_host_new();
  for (size_t i = 0; i < N(flips); i++) {
    uint8_t *copy = malloc(len);
    memcpy(copy, good, len);
    copy[flips[i].at] ^= flips[i].at == 10 ? 0x01 : 0x40;
    spit(bad, copy, len);
    free(copy);
    expect_err_hides(mw_host_use_secrets_file(h, bad, key), MW_ERR_INPUT,
                     flips[i].want, "damage-secret");
  }
  /* Truncations, down to nothing. */
  const size_t cuts[] = {len - 1, 23 + 16, 23 + 15, 11, 5, 0};
  for (size_t i = 0; i < N(cuts); i++) {
    spit(bad, good, cuts[i]);
    mw_error_t *err = mw_host_use_secrets_file(h, bad, key);
    assert_non_null(err);
    assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
    mw_error_free(err);
  }
  /* Appended bytes shift the tag: also caught. */
  uint8_t *longer = malloc(len + 1);
  memcpy(longer, good, len);
  longer[len] = 0;
  spit(bad, longer, len + 1);
  free(longer);
  expect_err(mw_host_use_secrets_file(h, bad, key), MW_ERR_INPUT,
             "wrong key or corrupt file");
  char r[512];
  expect_err(mw_host_use_secrets_file(h, tpath(r, "missing.enc"), key),
             MW_ERR_IO, "missing.enc");
  mw_host_free(h);
  free(good);
}

static void file_names_and_values_are_checked(void **state) {
  (void)state;
  char p[512];
  const char *path = tpath(p, "names.enc");
  uint8_t key[32];
  key_fill(key, 6);
  char long_name[258];
  memset(long_name, 'N', 257);
  long_name[257] = '\0';
  expect_err(mw_secrets_file_set(path, key, "", "v"), MW_ERR_INPUT,
             "invalid name");
  expect_err(mw_secrets_file_set(path, key, long_name, "v"), MW_ERR_INPUT,
             "invalid name");
  expect_err(mw_secrets_file_set(path, key, "A\nB", "v"), MW_ERR_INPUT,
             "invalid name");
  expect_err(mw_secrets_file_set(path, key, "\xff", "v"), MW_ERR_INPUT,
             "invalid name");
  expect_err_hides(mw_secrets_file_set(path, key, "BIN", "zq\xc3\x28"),
                   MW_ERR_INPUT, "valid UTF-8", "zq");
  assert_int_equal(access(path, F_OK), -1); /* nothing was written */
  long_name[256] = '\0';
  TU_OK(mw_secrets_file_set(path, key, long_name, "multi\nline \xc3\xa9"));
  const char *one[] = {long_name};
  names_are(path, key, one, 1);
}

typedef struct writer {
  const char *path;
  const uint8_t *key;
  int id;
} writer_t;

static void *write_some(void *arg) {
  const writer_t *w = arg;
  for (int i = 0; i < 5; i++) {
    char name[32];
    snprintf(name, sizeof name, "W%d_%d", w->id, i);
    mw_error_t *err = mw_secrets_file_set(w->path, w->key, name, "v");
    if (err) return err;
  }
  return NULL;
}

/* Read-modify-write under a lock: concurrent writers lose nothing. */
static void file_concurrent_sets_keep_every_name(void **state) {
  (void)state;
  char p[512];
  const char *path = tpath(p, "concurrent.enc");
  uint8_t key[32];
  key_fill(key, 7);
  pthread_t th[4];
  writer_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer_t){path, key, i};
    assert_int_equal(pthread_create(&th[i], NULL, write_some, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    void *ret;
    pthread_join(th[i], &ret);
    TU_OK((mw_error_t *)ret);
  }
  char **names;
  size_t count;
  TU_OK(mw_secrets_file_list(path, key, &names, &count));
  assert_int_equal(count, 20);
  mw_strings_free(names, count);
}

/* ---- keys ---------------------------------------------------------------- */

static void key_parsing_accepts_hex_and_base64(void **state) {
  (void)state;
  uint8_t key[32], got[32];
  key_fill(key, 8);
  char hex[65];
  key_hex(key, hex, false);
  setenv("MWTEST_KEY", hex, 1);
  TU_OK(mw_secrets_key_from_env("MWTEST_KEY", got));
  assert_memory_equal(got, key, 32);
  key_hex(key, hex, true);
  setenv("MWTEST_KEY", hex, 1);
  memset(got, 0, 32);
  TU_OK(mw_secrets_key_from_env("MWTEST_KEY", got));
  assert_memory_equal(got, key, 32);
  /* base64 of 0x00..0x1f */
  uint8_t seq[32];
  for (int i = 0; i < 32; i++) seq[i] = (uint8_t)i;
  setenv("MWTEST_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
  TU_OK(mw_secrets_key_from_env("MWTEST_KEY", got));
  assert_memory_equal(got, seq, 32);

  /* Files: one trailing newline (or CRLF) is fine, two are not. */
  char p[512];
  const char *kf = tpath(p, "key.txt");
  char text[80];
  key_hex(key, hex, false);
  snprintf(text, sizeof text, "%s\n", hex);
  spit(kf, text, strlen(text));
  memset(got, 0, 32);
  TU_OK(mw_secrets_key_from_file(kf, got));
  assert_memory_equal(got, key, 32);
  snprintf(text, sizeof text, "%s\r\n", hex);
  spit(kf, text, strlen(text));
  TU_OK(mw_secrets_key_from_file(kf, got));
  spit(kf, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 45);
  TU_OK(mw_secrets_key_from_file(kf, got));
  assert_memory_equal(got, seq, 32);
  snprintf(text, sizeof text, "%s\n\n", hex);
  spit(kf, text, strlen(text));
  expect_err_hides(mw_secrets_key_from_file(kf, got), MW_ERR_INPUT, "key.txt",
                   hex);
  unsetenv("MWTEST_KEY");
}

static void key_parsing_rejects_wrong_lengths(void **state) {
  (void)state;
  uint8_t got[32];
  const char *bad[] = {
      /* 62 hex digits (31 bytes) */
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
      /* 66 hex digits (33 bytes) */
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
      /* 64 characters, one not hex */
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
      /* base64 of 31 bytes, and of 33 bytes */
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
      /* 44 characters, not base64 */
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!!=",
      "short"};
  for (size_t i = 0; i < N(bad); i++) {
    setenv("MWTEST_KEY", bad[i], 1);
    expect_err_hides(mw_secrets_key_from_env("MWTEST_KEY", got), MW_ERR_INPUT,
                     "MWTEST_KEY", bad[i]);
  }
  unsetenv("MWTEST_KEY");
  expect_err(mw_secrets_key_from_env("MWTEST_KEY", got), MW_ERR_INPUT,
             "MWTEST_KEY is not set");
  char p[512];
  expect_err(mw_secrets_key_from_file(tpath(p, "no-such-key"), got), MW_ERR_IO,
             "no-such-key");
}

/* ---- set-up -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int make_tmpdir(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
  (void)state;
  return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(env_secret_found_only_when_allowed),
      cmocka_unit_test(env_prefix_is_required),
      cmocka_unit_test(env_value_must_be_utf8),
      cmocka_unit_test(file_round_trip_through_a_node),
      cmocka_unit_test(file_permissions_still_apply),
      cmocka_unit_test(file_wrong_key_is_refused_without_leaking),
      cmocka_unit_test(file_damage_is_detected),
      cmocka_unit_test(file_names_and_values_are_checked),
      cmocka_unit_test(file_concurrent_sets_keep_every_name),
      cmocka_unit_test(key_parsing_accepts_hex_and_base64),
      cmocka_unit_test(key_parsing_rejects_wrong_lengths),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
