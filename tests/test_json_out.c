/*
 * test_json_out.c - the JSON text writer (src/util/json_out.c) and the
 * summed files of the caches (src/util/file.c): the writer's output must
 * be ASCII JSON that a real parser (jansson) reads back as the input, with
 * U+FFFD where the input was not UTF-8; a summed file must be refused when
 * either half is damaged.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/json_out.h"

/* The text the writer makes of s[0..n). */
static char *write_string(const char *s, size_t n) {
  mw_buf_t b;
  mw__buf_init(&b, 1 << 20);
  assert_true(mw__json_string(&b, s, n));
  return mw__buf_take(&b, NULL);
}

/* Parses text as one JSON string; returns its bytes (length in *len). */
static const char *parse(const char *text, json_t **holder, size_t *len) {
  json_error_t je;
  *holder = json_loads(text, JSON_DECODE_ANY, &je);
  if (!*holder) fail_msg("not JSON: %s: %s", text, je.text);
  assert_true(json_is_string(*holder));
  *len = json_string_length(*holder);
  return json_string_value(*holder);
}

static void ascii_only(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    assert_true(*p >= 0x20 && *p < 0x7f);
}

static void round_trips_valid_text(void **state) {
  (void)state;
  static const char *cases[] = {
      "",
      "plain",
      "{\"k\":\"v\",\"n\":[1,2]}",
      "back\\slash and \"quotes\"",
      "tab\tnew\nline\rcr\bbs\ffeed",
      "\x01\x1f\x7f",
      "caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad",   /* 2- and 3-byte sequences */
      "emoji \xf0\x9f\x98\x80 end",                /* 4 bytes: a surrogate pair */
      "\xef\xbf\xbf\xf4\x8f\xbf\xbf",              /* U+FFFF, U+10FFFF */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = write_string(cases[i], strlen(cases[i]));
    ascii_only(text);
    json_t *v;
    size_t len;
    const char *got = parse(text, &v, &len);
    assert_int_equal(len, strlen(cases[i]));
    assert_memory_equal(got, cases[i], len);
    json_decref(v);
    free(text);
  }
  /* embedded NUL keeps the length */
  char *text = write_string("a\0b", 3);
  assert_string_equal(text, "\"a\\u0000b\"");
  free(text);
  text = write_string("\xf0\x9f\x98\x80", 4);
  assert_string_equal(text, "\"\\ud83d\\ude00\"");
  free(text);
}

static void invalid_utf8_becomes_replacement(void **state) {
  (void)state;
  static const struct {
    const char *in;
    const char *want; /* UTF-8 after parsing */
  } cases[] = {
      {"a\xff" "b", "a\xef\xbf\xbd" "b"},                 /* stray byte */
      {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},           /* overlong */
      {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
      {"end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd"},     /* cut short */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = write_string(cases[i].in, strlen(cases[i].in));
    ascii_only(text);
    json_t *v;
    size_t len;
    const char *got = parse(text, &v, &len);
    assert_int_equal(len, strlen(cases[i].want));
    assert_memory_equal(got, cases[i].want, len);
    json_decref(v);
    free(text);
  }
}

static void a_full_buffer_fails(void **state) {
  (void)state;
  mw_buf_t b;
  mw__buf_init(&b, 8);
  assert_false(mw__json_string(&b, "0123456789", 10));
  mw__buf_free(&b);
}

static void summed_files_refuse_damage(void **state) {
  (void)state;
  char dir[] = "/tmp/mw-summed-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], sum[256], sha[65];
  snprintf(path, sizeof path, "%s/entry", dir);
  snprintf(sum, sizeof sum, "%s/entry.sha256", dir);
  const uint8_t data[] = "native code, say";
  mw_sha256_hex(data, sizeof data, sha);
  assert_null(mw__write_file_summed(path, sum, data, sizeof data, sha));

  uint8_t *out;
  size_t len;
  char got[65];
  assert_true(mw__read_file_summed(path, sum, 1 << 20, &out, &len, got));
  assert_int_equal(len, sizeof data);
  assert_memory_equal(out, data, len);
  assert_string_equal(got, sha);
  free(out);

  FILE *f = fopen(path, "r+b"); /* one byte flipped in place */
  fputc(data[0] ^ 0x20, f);
  fclose(f);
  assert_false(mw__read_file_summed(path, sum, 1 << 20, &out, &len, got));
  assert_null(out);

  assert_null(mw__write_file_summed(path, sum, data, sizeof data, sha));
  assert_int_equal(truncate(sum, 10), 0); /* the sum cut short */
  assert_false(mw__read_file_summed(path, sum, 1 << 20, &out, &len, got));
  unlink(sum); /* no sum at all: a crash between the two writes */
  assert_false(mw__read_file_summed(path, sum, 1 << 20, &out, &len, got));
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trips_valid_text),
      cmocka_unit_test(invalid_utf8_becomes_replacement),
      cmocka_unit_test(a_full_buffer_fails),
      cmocka_unit_test(summed_files_refuse_damage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
