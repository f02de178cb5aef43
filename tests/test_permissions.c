/*
 * test_permissions.c - the permissions object: strict JSON parsing with
 * errors that name the field, deny-by-default, host allow-list matching and
 * KV key namespacing.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/permissions_int.h"
#include "test_util.h"

static mw_permissions_t *parse_ok(const char *json) {
  mw_permissions_t *p = NULL;
  TU_OK(mw_permissions_from_json(json, strlen(json), &p));
  return p;
}

static void expect_error(const char *json, const char *needle) {
  mw_permissions_t *p = NULL;
  mw_error_t *err = mw_permissions_from_json(json, strlen(json), &p);
  assert_non_null(err);
  assert_null(p);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  if (!strstr(mw_error_message(err), needle))
    fail_msg("error '%s' does not mention '%s'", mw_error_message(err), needle);
  mw_error_free(err);
}

static void defaults_deny_everything(void **state) {
  (void)state;
  mw_permissions_t *p = mw_permissions_new();
  assert_false(mw_permissions_http_host_allowed(p, "api.example.com"));
  assert_false(mw_permissions_secret_allowed(p, "API_KEY"));
  assert_false(mw_permissions_kv_allowed(p));
  assert_int_equal(mw_permissions_limit(p, MW_LIMIT_MAX_MEMORY_MB), 64);
  assert_int_equal(mw_permissions_limit(p, MW_LIMIT_MAX_FUEL), 1000000000);
  assert_int_equal(mw_permissions_limit(p, MW_LIMIT_TIMEOUT_MS), 30000);
  mw_permissions_free(p);
}

static void empty_allow_lists_grant_nothing(void **state) {
  (void)state;
  mw_permissions_t *p = parse_ok(
      "{\"allow_http\": true, \"http_allowed_hosts\": [], "
      "\"allow_secrets\": true, \"secret_allowed_names\": []}");
  assert_false(mw_permissions_http_host_allowed(p, "api.example.com"));
  assert_false(mw__permissions_url_allowed(p, "https", "api.example.com", 443));
  assert_false(mw_permissions_secret_allowed(p, "API_KEY"));
  assert_false(mw_permissions_secret_allowed(p, ""));
  mw_permissions_free(p);
}

static void unknown_field_is_named(void **state) {
  (void)state;
  expect_error("{\"alow_http\": true}", "unknown field 'alow_http'");
  expect_error("{\"allow_http\": \"yes\"}", "'allow_http' must be true or false");
  expect_error("{\"http_allowed_hosts\": \"a.com\"}", "'http_allowed_hosts' must be a list");
  expect_error("{\"http_allowed_hosts\": [1]}", "http_allowed_hosts[0] must be a string");
  expect_error("{\"max_memory_mb\": -1}", "'max_memory_mb' must be a non-negative integer");
  expect_error("{\"max_memory_mb\": 0}", "max_memory_mb: 0 is out of range");
  expect_error("{\"timeout_ms\": 1.5}", "'timeout_ms' must be a non-negative integer");
  expect_error("{\"kv_prefix\": 3}", "'kv_prefix' must be a string");
  expect_error("[]", "expected a JSON object");
  expect_error("{\"allow_kv\": true", "line 1");
  expect_error("{\"allow_kv\": true, \"allow_kv\": false}", "duplicate");
  expect_error("{\"http_allowed_hosts\": [\"ftp://a.com\"]}", "only http and https");
  expect_error("{\"http_allowed_hosts\": [\"*\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"a.com/path\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"user@a.com\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"a.com:99999\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"[::1\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"a..b.com\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"*..b.com\"]}", "not a host pattern");
  expect_error("{\"http_allowed_hosts\": [\"[evil.com]\"]}", "not a host pattern");
}

static void seed_example_parses(void **state) {
  (void)state;
  mw_permissions_t *p = parse_ok(
      "{\"allow_http\": true, \"http_allowed_hosts\": [\"api.example.com\"],"
      " \"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\"],"
      " \"allow_kv\": true, \"kv_prefix\": \"user-123:\","
      " \"max_memory_mb\": 64, \"max_fuel\": 1000000000, \"timeout_ms\": 30000}");
  assert_true(mw_permissions_http_host_allowed(p, "api.example.com"));
  assert_true(mw_permissions_secret_allowed(p, "API_KEY"));
  assert_false(mw_permissions_secret_allowed(p, "api_key"));
  assert_false(mw_permissions_secret_allowed(p, "API_KEY2"));
  assert_true(mw_permissions_kv_allowed(p));
  assert_string_equal(mw_permissions_kv_prefix(p), "user-123:");
  char *j = mw_permissions_to_json(p);
  mw_permissions_t *q = parse_ok(j);
  char *k = mw_permissions_to_json(q);
  assert_string_equal(j, k); /* round trip */
  free(j);
  free(k);
  mw_permissions_free(q);
  mw_permissions_free(p);
}

static void host_rules_match_exactly(void **state) {
  (void)state;
  mw_permissions_t *p = parse_ok(
      "{\"allow_http\": true, \"http_allowed_hosts\": [\"API.Example.com.\", "
      "\"*.example.org\", \"https://secure.example.net:8443\", \"[::1]:8080\"]}");
  struct {
    const char *scheme, *host;
    uint16_t port;
    bool ok;
  } cases[] = {
      {"https", "api.example.com", 443, true},
      {"http", "api.example.com", 80, true},
      {"https", "example.com", 443, false},
      {"https", "xapi.example.com", 443, false},
      {"https", "api.example.com.evil.com", 443, false},
      {"https", "a.example.org", 443, true},
      {"https", "a.b.example.org", 443, true},
      {"https", "example.org", 443, false},      /* wildcard: apex excluded */
      {"https", "evil-example.org", 443, false}, /* not a subdomain */
      {"https", "evilexample.org", 443, false},
      {"https", "secure.example.net", 8443, true},
      {"https", "secure.example.net", 443, false}, /* port pinned */
      {"http", "secure.example.net", 8443, false}, /* scheme pinned */
      {"http", "[::1]", 8080, true},
      {"http", "[::1]", 80, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    if (mw__permissions_url_allowed(p, cases[i].scheme, cases[i].host,
                                    cases[i].port) != cases[i].ok)
      fail_msg("case %zu: %s://%s:%u expected %s", i, cases[i].scheme,
               cases[i].host, cases[i].port, cases[i].ok ? "allow" : "deny");
  assert_true(mw_permissions_http_host_allowed(p, "API.EXAMPLE.COM."));
  /* allow_http off: the list alone grants nothing. */
  mw_permissions_allow_http(p, false);
  assert_false(mw__permissions_url_allowed(p, "https", "api.example.com", 443));
  mw_permissions_free(p);
}

static char *full_key(const mw_permissions_t *p, const char *key) {
  size_t n;
  const char *why = NULL;
  return mw__kv_full_key(p, key, strlen(key), &n, &why);
}

static void kv_prefixes_never_collide(void **state) {
  (void)state;
  mw_permissions_t *a = parse_ok("{\"allow_kv\": true, \"kv_prefix\": \"a:\"}");
  mw_permissions_t *ab = parse_ok("{\"allow_kv\": true, \"kv_prefix\": \"a:b\"}");
  /* "a:" + "b:x" and "a:b" + ":x" would both be "a:b:x" if simply joined. */
  char *k1 = full_key(a, "b:x"), *k2 = full_key(ab, ":x");
  assert_non_null(k1);
  assert_non_null(k2);
  assert_string_not_equal(k1, k2);
  assert_int_equal(strncmp(k1, "a:", 2), 0); /* keys stay under the prefix */
  free(k1);
  free(k2);
  char *k3 = full_key(a, "../other:x");
  assert_int_equal(strncmp(k3, "a:\x1f", 3), 0);
  free(k3);
  /* Keys that try to forge the separator, control characters, empties. */
  assert_null(full_key(a, "x\x1f" "y"));
  assert_null(full_key(a, "x\ny"));
  assert_null(full_key(a, ""));
  char big[600];
  memset(big, 'k', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_null(full_key(a, big));
  mw_permissions_free(a);
  mw_permissions_free(ab);
  mw_permissions_t *p = NULL;
  const char *bad = "{\"kv_prefix\": \"a\\u001fb\"}";
  mw_error_t *err = mw_permissions_from_json(bad, strlen(bad), &p);
  assert_non_null(err);
  mw_error_free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_deny_everything),
      cmocka_unit_test(empty_allow_lists_grant_nothing),
      cmocka_unit_test(unknown_field_is_named),
      cmocka_unit_test(seed_example_parses),
      cmocka_unit_test(host_rules_match_exactly),
      cmocka_unit_test(kv_prefixes_never_collide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
