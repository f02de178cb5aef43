/*
 * test_host.c - the host interfaces through the `host` component: each
 * capability is checked against the permissions before its backend runs,
 * denied calls return the WIT's none/err, and stdout/stderr are captured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#define N(a) (sizeof(a) / sizeof *(a))

static bool has_log(const mw_result_t *r, mw_log_source_t src,
                    const char *needle) {
  for (size_t i = 0; i < mw_result_log_count(r); i++) {
    mw_log_source_t s;
    const char *m = mw_result_log(r, i, NULL, &s);
    if (s == src && strstr(m, needle)) return true;
  }
  return false;
}

static mw_host_t *secrets_host(void) {
  mw_host_t *h = mw_host_new();
  const char *s = "{\"API_KEY\": \"k-123\", \"DB_PASS\": \"hunter2\"}";
  TU_OK(mw_host_use_secrets_json(h, s, strlen(s)));
  return h;
}

static void secrets_only_when_named(void **state) {
  (void)state;
  mw_host_t *h = secrets_host();
  const char *cmds[] = {"secret API_KEY", "secret DB_PASS", "secret MISSING"};
  /* Allowed name, name not in the list, name in the list but absent. */
  mw_result_t *r = tu_host_cmds(
      cmds, 3,
      "{\"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\", "
      "\"MISSING\"]}",
      h);
  assert_string_equal(tu_item(r, 0), "{\"op\":\"secret\",\"found\":true,\"value\":\"k-123\"}");
  assert_string_equal(tu_item(r, 1), "{\"op\":\"secret\",\"found\":false}");
  assert_string_equal(tu_item(r, 2), "{\"op\":\"secret\",\"found\":false}");
  assert_true(has_log(r, MW_LOG_HOST, "secrets.get('DB_PASS') denied"));
  mw_stats_t st;
  mw_result_stats(r, &st);
  assert_int_equal(st.denied_calls, 1);
  mw_result_free(r);
  /* allow_secrets false, and an empty allow-list: nothing. */
  const char *perms[] = {
      "{\"allow_secrets\": false, \"secret_allowed_names\": [\"API_KEY\"]}",
      "{\"allow_secrets\": true, \"secret_allowed_names\": []}", NULL};
  for (size_t i = 0; i < N(perms); i++) {
    r = tu_host_cmds(cmds, 1, perms[i], h);
    assert_string_equal(tu_item(r, 0), "{\"op\":\"secret\",\"found\":false}");
    mw_result_free(r);
  }
  mw_host_free(h);
}

static void secrets_read_are_redacted_from_host_output(void **state) {
  (void)state;
  mw_host_t *h = secrets_host();
  const char *cmds[] = {"secret API_KEY", "log info using k-123 now",
                        "print stdout k-123", "event leak {\"key\": \"k-123\"}",
                        "bogus k-123"};
  mw_result_t *r = tu_host_cmds(
      cmds, 5, "{\"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\"]}",
      h);
  /* The unknown command makes the guest return err("unknown command: ...");
   * the logs and events recorded before that are what matter here. */
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_ERR);
  char *j = tu_json(r);
  if (strstr(j, "k-123")) fail_msg("secret leaked: %s", j);
  free(j);
  assert_string_equal(mw_result_log(r, 0, NULL, NULL), "using [REDACTED] now");
  assert_string_equal(mw_result_log(r, 1, NULL, NULL), "stdout [REDACTED]");
  const char *payload;
  mw_result_event(r, 0, &payload);
  assert_string_equal(payload, "{\"key\": \"[REDACTED]\"}");
  mw_result_free(r);
  /* A node that did not read the secret is not redacted (nothing to hide). */
  const char *plain[] = {"log info k-123"};
  r = tu_host_cmds(plain, 1, NULL, h);
  assert_string_equal(mw_result_log(r, 0, NULL, NULL), "k-123");
  mw_result_free(r);
  mw_host_free(h);
}

/* The JSON-lines sink writes one line per record, with metadata. */
static void jsonl_sink_streams_records(void **state) {
  (void)state;
  int logs[2], events[2];
  assert_int_equal(pipe(logs), 0);
  assert_int_equal(pipe(events), 0);
  mw_host_t *h = mw_host_new();
  mw_host_set_jsonl_sink(h, logs[1], events[1]);
  const char *cmds[] = {"log error boom", "event done 42"};
  mw_result_t *r = tu_host_cmds(cmds, 2, NULL, h);
  mw_result_free(r);
  mw_host_free(h);
  close(logs[1]);
  close(events[1]);
  char buf[2048];
  ssize_t n = read(logs[0], buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_non_null(strstr(buf, "\"level\":\"error\""));
  assert_non_null(strstr(buf, "\"message\":\"boom\""));
  assert_non_null(strstr(buf, "\"time\":\"20"));
  assert_non_null(strstr(buf, "\"execution_id\":"));
  assert_int_equal(buf[n - 1], '\n');
  n = read(events[0], buf, sizeof buf - 1);
  buf[n] = '\0';
  assert_non_null(strstr(buf, "\"event_type\":\"done\",\"payload\":\"42\""));
  close(logs[0]);
  close(events[0]);
}

static void kv_round_trip_within_prefix(void **state) {
  (void)state;
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_memory_kv(h));
  const char *p1 = "{\"allow_kv\": true, \"kv_prefix\": \"a:\"}";
  const char *p2 = "{\"allow_kv\": true, \"kv_prefix\": \"a:b\"}";
  const char *w[] = {"kv_put b:x - one", "kv_get b:x", "kv_put ttl0 0 gone",
                     "kv_get ttl0", "kv_put ../../etc - up", "kv_get ../../etc"};
  mw_result_t *r = tu_host_cmds(w, N(w), p1, h);
  assert_string_equal(tu_item(r, 0), "{\"op\":\"kv_put\",\"ok\":true}");
  assert_string_equal(tu_item(r, 1), "{\"op\":\"kv_get\",\"found\":true,\"value\":\"one\"}");
  assert_string_equal(tu_item(r, 3), "{\"op\":\"kv_get\",\"found\":false}");
  assert_string_equal(tu_item(r, 5), "{\"op\":\"kv_get\",\"found\":true,\"value\":\"up\"}");
  mw_result_free(r);
  /* Prefix "a:b" + ":x" joins to the same text as "a:" + "b:x": still apart. */
  const char *rd[] = {"kv_get :x", "kv_get b:x", "kv_get ../../etc"};
  r = tu_host_cmds(rd, N(rd), p2, h);
  for (size_t i = 0; i < N(rd); i++)
    assert_string_equal(tu_item(r, i), "{\"op\":\"kv_get\",\"found\":false}");
  mw_result_free(r);
  const char *del[] = {"kv_del b:x", "kv_get b:x"};
  r = tu_host_cmds(del, N(del), p1, h);
  assert_string_equal(tu_item(r, 0), "{\"op\":\"kv_del\",\"ok\":true}");
  assert_string_equal(tu_item(r, 1), "{\"op\":\"kv_get\",\"found\":false}");
  mw_result_free(r);
  mw_host_free(h);
}

static void kv_denied_without_allow_kv(void **state) {
  (void)state;
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_memory_kv(h));
  const char *w[] = {"kv_put k - v", "kv_get k", "kv_del k"};
  mw_result_t *r = tu_host_cmds(w, N(w), "{\"kv_prefix\": \"p:\"}", h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"kv_put\",\"ok\":false,\"error\":\"kv.put denied: "
                      "allow_kv is false\"}");
  assert_string_equal(tu_item(r, 1), "{\"op\":\"kv_get\",\"found\":false}");
  assert_string_equal(tu_item(r, 2),
                      "{\"op\":\"kv_del\",\"ok\":false,\"error\":\"kv.delete denied: "
                      "allow_kv is false\"}");
  mw_result_free(r);
  /* A key with a control character is refused, not stored. */
  const char *bad[] = {"kv_put a\x1f" "b - v"};
  r = tu_host_cmds(bad, 1, "{\"allow_kv\": true}", h);
  assert_non_null(strstr(tu_item(r, 0), "control character"));
  mw_result_free(r);
  mw_host_free(h);
}

static void console_stdout_and_events_are_collected(void **state) {
  (void)state;
  const char *w[] = {"log warn careful", "print hello from stdout",
                     "eprint oops", "event order.created {\"id\": 7}",
                     "event raw not json"};
  mw_result_t *r = tu_host_cmds(w, N(w), NULL, NULL);
  assert_int_equal(mw_result_outcome(r), MW_OUTCOME_OK);
  mw_log_level_t lvl;
  mw_log_source_t src;
  assert_int_equal(mw_result_log_count(r), 3);
  assert_string_equal(mw_result_log(r, 0, &lvl, &src), "careful");
  assert_int_equal(lvl, MW_LOG_WARN);
  assert_int_equal(src, MW_LOG_CONSOLE);
  assert_string_equal(mw_result_log(r, 1, &lvl, &src), "hello from stdout");
  assert_int_equal(src, MW_LOG_STDOUT);
  assert_string_equal(mw_result_log(r, 2, &lvl, &src), "oops");
  assert_int_equal(src, MW_LOG_STDERR);
  const char *payload;
  assert_int_equal(mw_result_event_count(r), 2);
  assert_string_equal(mw_result_event(r, 0, &payload), "order.created");
  assert_string_equal(payload, "{\"id\": 7}");
  assert_string_equal(mw_result_event(r, 1, &payload), "raw");
  assert_string_equal(payload, "not json");
  mw_result_free(r);
}

/* A recording HTTP backend: proves what reaches a backend. */
typedef struct fake_http {
  int calls;
  char url[256];
  char header[128];
} fake_http_t;

static mw_error_t *fake_fetch(void *ctx, const mw_http_request_t *req,
                              mw_http_response_t *out) {
  fake_http_t *f = ctx;
  f->calls++;
  snprintf(f->url, sizeof f->url, "%s %s", req->method, req->url);
  if (req->header_count)
    snprintf(f->header, sizeof f->header, "%s=%s", req->headers[0].name,
             req->headers[0].value);
  out->status = 201;
  out->body = (uint8_t *)strdup("pong");
  out->body_len = 4;
  out->headers = calloc(1, sizeof *out->headers);
  out->headers[0].name = strdup("content-type");
  out->headers[0].value = strdup("text/plain");
  out->header_count = 1;
  return NULL;
}

static void http_checked_before_backend(void **state) {
  (void)state;
  fake_http_t fake = {0};
  mw_host_t *h = mw_host_new();
  static const mw_http_vtable_t vt = {fake_fetch};
  mw_host_set_http(h, &vt, &fake, NULL);
  const char *ok[] = {"http GET https://api.example.com/v1?q=1"};
  const char *allow = "{\"allow_http\": true, \"http_allowed_hosts\": [\"api.example.com\"]}";
  mw_result_t *r = tu_host_cmds(ok, 1, allow, h);
  assert_string_equal(tu_item(r, 0), "{\"op\":\"http\",\"ok\":true,\"status\":201,\"body\":\"pong\"}");
  assert_int_equal(fake.calls, 1);
  assert_string_equal(fake.url, "GET https://api.example.com/v1?q=1");
  assert_string_equal(fake.header, "x-test=1");
  mw_result_free(r);
  const char *denied[] = {
      "http GET https://evil.com/",
      "http GET https://api.example.com@evil.com/",
      "http GET https://api.example.com.evil.com/",
      "http GET ftp://api.example.com/",
      "http GET file:///etc/passwd",
      "http GET not a url"};
  r = tu_host_cmds(denied, N(denied), allow, h);
  for (size_t i = 0; i < N(denied); i++) {
    const char *it = tu_item(r, i);
    if (!strstr(it, "\"ok\":false")) fail_msg("%s -> %s", denied[i], it);
  }
  assert_int_equal(fake.calls, 1); /* the backend never saw them */
  mw_result_free(r);
  /* International names: an entry and a URL match whichever way each is
   * written (Unicode or punycode); a look-alike does not. */
  const char *idn[] = {"http GET http://b\xc3\xbc" "cher.example/",
                       "http GET http://xn--bcher-kva.example/",
                       "http GET http://bucher.example/"};
  r = tu_host_cmds(idn, 3,
                   "{\"allow_http\": true, \"http_allowed_hosts\": "
                   "[\"b\xc3\xbc" "cher.example\"]}",
                   h);
  assert_non_null(strstr(tu_item(r, 0), "\"ok\":true"));
  assert_non_null(strstr(tu_item(r, 1), "\"ok\":true"));
  assert_non_null(strstr(tu_item(r, 2), "denied"));
  mw_result_free(r);
  assert_int_equal(fake.calls, 3);
  fake.calls = 1;
  /* No allow_http, or an empty list: denied whatever the host. */
  const char *perms[] = {"{\"http_allowed_hosts\": [\"api.example.com\"]}",
                         "{\"allow_http\": true, \"http_allowed_hosts\": []}"};
  for (size_t i = 0; i < N(perms); i++) {
    r = tu_host_cmds(ok, 1, perms[i], h);
    assert_non_null(strstr(tu_item(r, 0), "denied"));
    mw_result_free(r);
  }
  assert_int_equal(fake.calls, 1);
  /* max_http_requests caps calls per execution. */
  const char *three[] = {ok[0], ok[0], ok[0]};
  r = tu_host_cmds(three, 3,
                   "{\"allow_http\": true, \"http_allowed_hosts\": "
                   "[\"api.example.com\"], \"max_http_requests\": 2}",
                   h);
  assert_non_null(strstr(tu_item(r, 1), "\"ok\":true"));
  assert_non_null(strstr(tu_item(r, 2), "max_http_requests"));
  assert_int_equal(fake.calls, 3);
  mw_result_free(r);
  mw_host_free(h);
}

/* Backends written by embedders may return bytes that are not UTF-8; the
 * guest must get valid strings, and the host must not abort. */
static mw_error_t *bad_secret(void *ctx, const char *name, char **out) {
  (void)ctx, (void)name;
  *out = strdup("ok\xff\xfe\xc0\x80" "end");
  return NULL;
}

static void invalid_utf8_from_backends_is_repaired(void **state) {
  (void)state;
  mw_host_t *h = mw_host_new();
  static const mw_secrets_vtable_t vt = {bad_secret};
  mw_host_set_secrets(h, &vt, NULL, NULL);
  const char *cmds[] = {"secret S"};
  mw_result_t *r = tu_host_cmds(
      cmds, 1, "{\"allow_secrets\": true, \"secret_allowed_names\": [\"S\"]}", h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"secret\",\"found\":true,\"value\":\"ok????end\"}");
  mw_result_free(r);
  mw_host_free(h);
}

static void http_without_backend_is_an_error(void **state) {
  (void)state;
  const char *ok[] = {"http GET https://api.example.com/"};
  mw_result_t *r = tu_host_cmds(
      ok, 1, "{\"allow_http\": true, \"http_allowed_hosts\": [\"api.example.com\"]}",
      NULL);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: no HTTP "
                      "backend configured\"}");
  mw_result_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(secrets_only_when_named),
      cmocka_unit_test(secrets_read_are_redacted_from_host_output),
      cmocka_unit_test(jsonl_sink_streams_records),
      cmocka_unit_test(kv_round_trip_within_prefix),
      cmocka_unit_test(kv_denied_without_allow_kv),
      cmocka_unit_test(console_stdout_and_events_are_collected),
      cmocka_unit_test(http_checked_before_backend),
      cmocka_unit_test(http_without_backend_is_an_error),
      cmocka_unit_test(invalid_utf8_from_backends_is_repaired),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
