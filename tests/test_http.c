/*
 * test_http.c - the libcurl HTTP backend against a real HTTP server on
 * 127.0.0.1 (tests/http_server.py, started once for the group): requests
 * and responses, the SSRF defence (non-public addresses, tricky IP forms,
 * redirects re-checked hop by hop, the socket re-check), caps and timeouts.
 *
 * Only loopback is ever contacted. Public addresses appear only in the
 * classifier corpus, which never connects. Where the allow-list cannot
 * express a case (IPv6 literals) or the guest cannot (POST bodies), the
 * backend's vtable is called directly with a hand-built request.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
/* After test_util.h (cmocka): internal headers for the direct calls. */
#include "host/http_curl.h"
#include "policy/address.h"
#include "runtime/runtime_int.h"

#define N(a) (sizeof(a) / sizeof *(a))

static pid_t server_pid = -1;
static int port;
static mw_host_t *probe; /* allow_private_network: asks the server /count */

/* ---- the server ---------------------------------------------------------- */

static const char *server_script(void) {
  static char path[4096];
  const char *env = getenv("MW_TEST_HTTP_SERVER");
  if (env && *env) return env;
  /* This file's directory: CMake compiles it by absolute path. */
  const char *slash = strrchr(__FILE__, '/');
  int dir_len = slash ? (int)(slash - __FILE__) : 1;
  snprintf(path, sizeof path, "%.*s/http_server.py", dir_len,
           slash ? __FILE__ : ".");
  return path;
}

static int start_server(void **state) {
  (void)state;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  char *const argv[] = {(char *)"python3", (char *)server_script(), NULL};
  server_pid = fork();
  if (server_pid < 0) return -1;
  if (server_pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execvp(argv[0], argv); /* argument array, no shell */
    _exit(127);
  }
  close(fds[1]);
  char line[32] = "";
  size_t len = 0;
  while (len + 1 < sizeof line && !strchr(line, '\n')) {
    struct pollfd p = {fds[0], POLLIN, 0};
    if (poll(&p, 1, 20000) <= 0) break;
    ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    line[len] = '\0';
  }
  close(fds[0]);
  char *end;
  long p = strtol(line, &end, 10);
  if (end == line || p <= 0 || p > 65535) {
    fprintf(stderr, "test_http: %s did not report a port\n", server_script());
    return -1;
  }
  port = (int)p;
  mw_http_options_t o;
  mw_http_options_init(&o);
  o.allow_private_network = true;
  probe = mw_host_new();
  return probe && !mw_host_use_curl_http(probe, &o) ? 0 : -1;
}

static int stop_server(void **state) {
  (void)state;
  mw_host_free(probe);
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
  }
  return 0;
}

/* "http://127.0.0.1:<port><path>" (or another host) in one of a few
 * rotating static buffers. */
static const char *url_on(const char *host, const char *path) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "http://%s:%d%s", host, port, path);
  return b;
}
static const char *url(const char *path) { return url_on("127.0.0.1", path); }

/* ---- helpers ------------------------------------------------------------- */

static mw_host_t *curl_host(bool allow_private, uint32_t max_redirects,
                            uint64_t max_body) {
  mw_http_options_t o;
  mw_http_options_init(&o);
  o.allow_private_network = allow_private;
  if (max_redirects != UINT32_MAX) o.max_redirects = max_redirects;
  if (max_body) o.max_response_bytes = max_body;
  mw_host_t *h = mw_host_new();
  assert_non_null(h);
  TU_OK(mw_host_use_curl_http(h, &o));
  return h;
}

static int allowed_calls;
static bool allow_all(void *ctx, const char *u) {
  (void)ctx, (void)u;
  allowed_calls++;
  return true;
}

typedef struct call {
  const char *method, *url, *body;
  mw_http_header_t headers[4];
  size_t n_headers;
  uint64_t timeout_ms; /* 0: 5000 */
} call_t;

/* Calls the host's HTTP backend directly. */
static mw_error_t *direct(const mw_host_t *h, const call_t *c,
                          mw_http_response_t *out) {
  mw_http_request_t req = {
      .method = c->method ? c->method : "GET",
      .url = c->url,
      .headers = c->headers,
      .header_count = c->n_headers,
      .body = (const uint8_t *)c->body,
      .body_len = c->body ? strlen(c->body) : 0,
      .timeout_ms = c->timeout_ms ? c->timeout_ms : 5000,
      .max_response_bytes = 8u << 20,
      .url_allowed = allow_all,
  };
  memset(out, 0, sizeof *out);
  return h->http.fetch(h->http_ctx, &req, out);
}

static void response_free(mw_http_response_t *r) {
  for (size_t i = 0; i < r->header_count; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* Expects a direct call to succeed with status and body. */
static void expect_ok(const mw_host_t *h, const call_t *c, int status,
                      const char *body) {
  mw_http_response_t r;
  mw_error_t *err = direct(h, c, &r);
  if (err) fail_msg("%s %s: %s", c->method, c->url, mw_error_message(err));
  assert_int_equal(r.status, status);
  assert_int_equal(r.body_len, strlen(body));
  assert_memory_equal(r.body, body, r.body_len);
  response_free(&r);
}

/* Expects a direct call to fail with status and a message containing
 * needle (or equal to it when exact). */
static void expect_err(const mw_host_t *h, const call_t *c, mw_status_t st,
                       const char *needle, bool exact) {
  mw_http_response_t r;
  mw_error_t *err = direct(h, c, &r);
  if (!err) fail_msg("%s: expected an error, got status %d", c->url, r.status);
  const char *m = mw_error_message(err);
  if (mw_error_status(err) != st || (exact ? strcmp(m, needle) : !strstr(m, needle)))
    fail_msg("%s: got %s '%s', expected %s '%s'", c->url,
             mw_status_name(mw_error_status(err)), m, mw_status_name(st),
             needle);
  assert_null(r.body);
  assert_null(r.headers);
  mw_error_free(err);
}

/* Requests the server has served (without /count itself). */
static long served(void) {
  call_t c = {.url = url("/count")};
  mw_http_response_t r;
  TU_OK(direct(probe, &c, &r));
  long n = strtol((const char *)r.body, NULL, 10);
  response_free(&r);
  return n;
}

static bool has_log(const mw_result_t *r, mw_log_source_t src,
                    const char *needle) {
  for (size_t i = 0; i < mw_result_log_count(r); i++) {
    mw_log_source_t s;
    const char *m = mw_result_log(r, i, NULL, &s);
    if (s == src && strstr(m, needle)) return true;
  }
  return false;
}

/* Runs the host component with one "http METHOD URL" command per url. */
static mw_result_t *guest_get(const char *const *urls, size_t n,
                              const char *perms, const mw_host_t *h) {
  char cmds[8][600];
  const char *p[8];
  assert_true(n <= 8);
  for (size_t i = 0; i < n; i++) {
    snprintf(cmds[i], sizeof cmds[i], "http GET %s", urls[i]);
    p[i] = cmds[i];
  }
  return tu_host_cmds(p, n, perms, h);
}

#define LOOPBACK_PERMS \
  "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\"]}"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests and responses ---------------------------------------------- */

static void allowed_request_returns_status_and_body(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  const char *urls[] = {url("/plain"), url("/status/404"), url("/status/500"),
                        url("/echo")};
  mw_result_t *r = guest_get(urls, N(urls), LOOPBACK_PERMS, h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"hello\"}");
  assert_string_equal(tu_item(r, 1),
                      "{\"op\":\"http\",\"ok\":true,\"status\":404,\"body\":\"status 404\"}");
  assert_string_equal(tu_item(r, 2),
                      "{\"op\":\"http\",\"ok\":true,\"status\":500,\"body\":\"status 500\"}");
  assert_string_equal(tu_item(r, 3),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":"
                      "\"GET x-test=1 auth=- ctype=- len=0 body=\"}");
  mw_result_free(r);
  /* Response headers come back as the server sent them. */
  call_t c = {.url = url("/plain")};
  mw_http_response_t resp;
  TU_OK(direct(h, &c, &resp));
  bool found = false;
  for (size_t i = 0; i < resp.header_count; i++)
    found = found || (!strcasecmp(resp.headers[i].name, "content-type") &&
                      !strcmp(resp.headers[i].value, "text/plain"));
  assert_true(found);
  response_free(&resp);
  mw_host_free(h);
}

static void loopback_refused_unless_private_network_allowed(void **state) {
  (void)state;
  long before = served();
  mw_host_t *h = curl_host(false, UINT32_MAX, 0);
  const char *urls[] = {url("/plain")};
  mw_result_t *r = guest_get(urls, 1, LOOPBACK_PERMS, h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                      "request to '127.0.0.1' refused: address 127.0.0.1 is "
                      "loopback (only public addresses are allowed)\"}");
  mw_result_free(r);
  assert_int_equal(served(), before); /* no connection was made */
  mw_host_free(h);
  h = curl_host(true, UINT32_MAX, 0);
  r = guest_get(urls, 1, LOOPBACK_PERMS, h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"hello\"}");
  mw_result_free(r);
  assert_int_equal(served(), before + 1);
  /* A trailing dot is pinned under the name curl looks up. */
  call_t c = {.url = url_on("localhost.", "/plain")};
  expect_ok(h, &c, 200, "hello");
  mw_host_free(h);
}

/* Spellings of loopback (and "this host") that must all be refused before
 * any connection, whatever form curl or the resolver would turn them into. */
static void tricky_hosts_refused_before_connecting(void **state) {
  (void)state;
  long before = served();
  mw_host_t *h = curl_host(false, UINT32_MAX, 0);
  static const struct {
    const char *host, *reason;
  } cases[] = {
      {"127.1", "address 127.0.0.1 is loopback"},
      {"0x7f.0.0.1", "address 127.0.0.1 is loopback"},
      {"2130706433", "address 127.0.0.1 is loopback"},
      {"017700000001", "address 127.0.0.1 is loopback"},
      {"0177.0.0.1", "address 127.0.0.1 is loopback"},
      {"127.0.0.2", "address 127.0.0.2 is loopback"},
      {"[::ffff:127.0.0.1]", "address ::ffff:127.0.0.1 is loopback"},
      {"[::ffff:7f00:1]", "address ::ffff:127.0.0.1 is loopback"},
      {"[0:0:0:0:0:0:0:1]", "address ::1 is loopback"},
      {"[::1]", "address ::1 is loopback"},
      {"localhost.", "is loopback"},
      {"localhost", "is loopback"},
      {"LocalHost", "is loopback"},
      {"0.0.0.0", "address 0.0.0.0 is unspecified"},
      {"0", "address 0.0.0.0 is unspecified"},
      {"[::]", "address :: is unspecified"},
  };
  for (size_t i = 0; i < N(cases); i++) {
    call_t c = {.url = url_on(cases[i].host, "/plain")};
    expect_err(h, &c, MW_ERR_DENIED, cases[i].reason, false);
  }
  /* The same through a guest, with the allow-list naming the host. */
  const char *urls[] = {url_on("2130706433", "/plain"),
                        url_on("localhost.", "/plain")};
  mw_result_t *r = guest_get(
      urls, 2,
      "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\", "
      "\"localhost\"]}",
      h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                      "request to '127.0.0.1' refused: address 127.0.0.1 is "
                      "loopback (only public addresses are allowed)\"}");
  assert_non_null(strstr(tu_item(r, 1), "request to 'localhost.' refused"));
  assert_non_null(strstr(tu_item(r, 1), "is loopback"));
  mw_result_free(r);
  assert_int_equal(served(), before);
  mw_host_free(h);
}

/* ---- redirects ------------------------------------------------------------ */

static void redirect_to_host_not_allowed_is_refused(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  long before = served();
  char path[300];
  snprintf(path, sizeof path, "/redirect?to=%s", url_on("localhost", "/plain"));
  const char *urls[] = {url(path)};
  mw_result_t *r = guest_get(urls, 1, LOOPBACK_PERMS, h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                      "redirect to 'localhost' denied by the permissions\"}");
  assert_true(has_log(r, MW_LOG_HOST, "request to 'localhost' denied"));
  mw_result_free(r);
  assert_int_equal(served(), before + 1); /* the redirect, not its target */
  mw_host_free(h);
}

/* The test rule: 127.0.0.1 (the test server) passes as if it were public,
 * everything else gets the real rule. */
static const char *server_is_public(const struct sockaddr *sa) {
  struct sockaddr_in sin;
  if (sa->sa_family == AF_INET) {
    memcpy(&sin, sa, sizeof sin);
    if (sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) return NULL;
  }
  return mw__address_refusal(sa);
}

static void redirect_to_loopback_refused_without_private_network(void **state) {
  (void)state;
  mw_host_t *h = curl_host(false, UINT32_MAX, 0);
  mw__curl_http_set_address_rule(h, server_is_public);
  long before = served();
  char p1[300], p2[300];
  snprintf(p1, sizeof p1, "/redirect?to=%s", url_on("127.0.0.2", "/plain"));
  snprintf(p2, sizeof p2, "/redirect?code=307&to=%s",
           url_on("[::1]", "/plain"));
  const char *urls[] = {url("/plain"), url(p1)};
  mw_result_t *r = guest_get(
      urls, 2,
      "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\", "
      "\"127.0.0.2\"]}",
      h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"hello\"}");
  assert_string_equal(tu_item(r, 1),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                      "request to '127.0.0.2' refused: address 127.0.0.2 is "
                      "loopback (only public addresses are allowed)\"}");
  mw_result_free(r);
  /* An IPv6 loopback target, which the allow-list cannot name. */
  call_t c = {.url = url(p2)};
  expect_err(h, &c, MW_ERR_DENIED,
             "request to '[::1]' refused: address ::1 is loopback (only "
             "public addresses are allowed)",
             true);
  assert_int_equal(served(), before + 3);
  mw_host_free(h);
}

static void redirect_hops_counted_against_the_limit(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, 2, 0);
  const char *urls[] = {url("/chain/2"), url("/chain/3"), url("/chain/0")};
  mw_result_t *r = guest_get(urls, N(urls), LOOPBACK_PERMS, h);
  assert_string_equal(tu_item(r, 0),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"end of chain\"}");
  assert_string_equal(tu_item(r, 1),
                      "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                      "more than 2 redirects\"}");
  assert_string_equal(tu_item(r, 2),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"end of chain\"}");
  mw_result_free(r);
  mw_host_free(h);
  /* Every hop went through the permissions check. */
  h = curl_host(true, UINT32_MAX, 0);
  allowed_calls = 0;
  call_t c = {.url = url("/chain/5")};
  expect_ok(h, &c, 200, "end of chain");
  assert_int_equal(allowed_calls, 5);
  mw_host_free(h);
}

static void see_other_turns_post_into_get(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  static const struct {
    const char *code, *method, *expect;
  } cases[] = {
      {"303", "POST", "GET x-test=- auth=- ctype=- len=0 body="},
      {"303", "PUT", "GET x-test=- auth=- ctype=- len=0 body="},
      {"302", "POST", "GET x-test=- auth=- ctype=- len=0 body="},
      {"301", "POST", "GET x-test=- auth=- ctype=- len=0 body="},
      {"301", "PUT", "PUT x-test=- auth=- ctype=text/plain len=3 body=abc"},
      {"307", "POST", "POST x-test=- auth=- ctype=text/plain len=3 body=abc"},
      {"308", "POST", "POST x-test=- auth=- ctype=text/plain len=3 body=abc"},
  };
  for (size_t i = 0; i < N(cases); i++) {
    char path[64];
    snprintf(path, sizeof path, "/redirect?code=%s&to=/echo", cases[i].code);
    call_t c = {.method = cases[i].method,
                .url = url(path),
                .body = "abc",
                .headers = {{(char *)"Content-Type", (char *)"text/plain"}},
                .n_headers = 1};
    expect_ok(h, &c, 200, cases[i].expect);
  }
  /* Without a redirect the body goes as is. */
  call_t c = {.method = "POST", .url = url("/echo"), .body = "hi"};
  expect_ok(h, &c, 200, "POST x-test=- auth=- ctype=- len=2 body=hi");
  mw_host_free(h);
}

static void cross_origin_redirect_drops_credentials(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  char other[300];
  snprintf(other, sizeof other, "/redirect?to=%s", url_on("localhost", "/echo"));
  call_t same = {.url = url("/redirect?to=/echo"),
                 .headers = {{(char *)"Authorization", (char *)"Bearer s3"}},
                 .n_headers = 1};
  expect_ok(h, &same, 200, "GET x-test=- auth=Bearer s3 ctype=- len=0 body=");
  call_t cross = same;
  cross.url = url(other);
  expect_ok(h, &cross, 200, "GET x-test=- auth=- ctype=- len=0 body=");
  mw_host_free(h);
}

/* ---- the socket re-check --------------------------------------------------- */

/* Passes 127.0.0.1 once (the resolution check), then refuses it: the
 * address "changed" between the check and the connection. */
static int rebind_calls;
static const char *rebinding(const struct sockaddr *sa) {
  return rebind_calls++ == 0 ? NULL : mw__address_refusal(sa);
}

static void socket_recheck_refuses_an_address_that_changed(void **state) {
  (void)state;
  mw_host_t *h = curl_host(false, UINT32_MAX, 0);
  mw__curl_http_set_address_rule(h, rebinding);
  long before = served();
  rebind_calls = 0;
  call_t c = {.url = url("/plain")};
  expect_err(h, &c, MW_ERR_DENIED,
             "connection to 127.0.0.1 for '127.0.0.1' refused: loopback", true);
  assert_int_equal(rebind_calls, 2);
  assert_int_equal(served(), before);
  mw_host_free(h);
}

/* ---- caps and time --------------------------------------------------------- */

static void huge_body_is_an_error_and_the_host_survives(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  const char *urls[] = {url("/huge"), url("/huge-stream"), url("/plain")};
  mw_result_t *r = guest_get(urls, N(urls), LOOPBACK_PERMS, h);
  const char *too_big = "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                        "response body larger than 8388608 bytes\"}";
  assert_string_equal(tu_item(r, 0), too_big);
  assert_string_equal(tu_item(r, 1), too_big);
  assert_string_equal(tu_item(r, 2),
                      "{\"op\":\"http\",\"ok\":true,\"status\":200,\"body\":\"hello\"}");
  mw_result_free(r);
  mw_host_free(h);
  /* The backend's own cap applies when smaller than the request's. */
  h = curl_host(true, UINT32_MAX, 3);
  call_t c = {.url = url("/plain")};
  expect_err(h, &c, MW_ERR_LIMIT, "response body larger than 3 bytes", true);
  c.url = url("/status/204");
  expect_ok(h, &c, 204, "");
  mw_host_free(h);
}

static void too_many_response_headers_are_an_error(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  call_t c = {.url = url("/many-headers")};
  expect_err(h, &c, MW_ERR_LIMIT,
             "response headers larger than 65536 bytes or more than 128 "
             "headers",
             true);
  c.url = url("/plain");
  expect_ok(h, &c, 200, "hello");
  mw_host_free(h);
}

static void slow_response_bounded_by_the_execution_timeout(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  const char *urls[] = {url("/slow?ms=10000")};
  double t0 = now_s();
  mw_result_t *r = guest_get(
      urls, 1,
      "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\"], "
      "\"timeout_ms\": 1500}",
      h);
  double elapsed = now_s() - t0;
  /* curl gives up at the execution's deadline, so the guest sees err and
   * normally finishes within the epoch slack; if the ticker fires first, the
   * execution is stopped as a timeout instead. Either way it is bounded. */
  if (mw_result_outcome(r) == MW_OUTCOME_OK) {
    const char *want = "{\"op\":\"http\",\"ok\":false,\"error\":\"http-client: "
                       "request to '127.0.0.1' timed out after 1";
    if (strncmp(tu_item(r, 0), want, strlen(want)) != 0)
      fail_msg("got %s", tu_item(r, 0));
  } else {
    assert_int_equal(mw_result_outcome(r), MW_OUTCOME_TRAP);
    assert_int_equal(mw_result_trap_kind(r), MW_TRAP_TIMEOUT);
    assert_string_equal(mw_result_message(r),
                        "execution timed out (timeout_ms 1500)");
  }
  if (elapsed < 1.3 || elapsed > 3.0)
    fail_msg("execution took %.2f s, expected about 1.5 s", elapsed);
  mw_result_free(r);
  /* What the backend returns at its deadline. */
  call_t c = {.url = url("/slow?ms=10000"), .timeout_ms = 300};
  t0 = now_s();
  expect_err(h, &c, MW_ERR_BACKEND, "request to '127.0.0.1' timed out after",
             false);
  elapsed = now_s() - t0;
  if (elapsed > 1.5) fail_msg("backend took %.2f s for 300 ms", elapsed);
  mw_host_free(h);
}

static void no_time_left_fails_at_once(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  long before = served();
  mw_http_response_t r;
  mw_http_request_t req = {.method = "GET", .url = url("/plain"),
                           .timeout_ms = 0, .max_response_bytes = 100,
                           .url_allowed = allow_all};
  memset(&r, 0, sizeof r);
  mw_error_t *err = h->http.fetch(h->http_ctx, &req, &r);
  assert_int_equal(mw_error_status(err), MW_ERR_LIMIT);
  assert_string_equal(mw_error_message(err), "no time left for the request");
  mw_error_free(err);
  assert_int_equal(served(), before);
  mw_host_free(h);
}

static void runtime_managed_headers_and_bad_names_refused(void **state) {
  (void)state;
  mw_host_t *h = curl_host(true, UINT32_MAX, 0);
  long before = served();
  static const char *const names[] = {"Host", "content-length",
                                      "Transfer-Encoding", "Connection"};
  for (size_t i = 0; i < N(names); i++) {
    call_t c = {.url = url("/echo"),
                .headers = {{(char *)names[i], (char *)"x"}},
                .n_headers = 1};
    char msg[128];
    snprintf(msg, sizeof msg,
             "header '%s' is set by the runtime and cannot be set by a node",
             names[i]);
    expect_err(h, &c, MW_ERR_DENIED, msg, true);
  }
  /* A name that is not a token could smuggle another header. */
  call_t c = {.url = url("/echo"),
              .headers = {{(char *)"x-a: 1\tHost", (char *)"evil"}},
              .n_headers = 1};
  expect_err(h, &c, MW_ERR_INPUT, "invalid header name", true);
  call_t m = {.method = "GET\t/x", .url = url("/echo")};
  expect_err(h, &m, MW_ERR_INPUT, "invalid method", true);
  assert_int_equal(served(), before);
  /* An empty value is sent as such. */
  call_t e = {.url = url("/echo"),
              .headers = {{(char *)"x-test", (char *)""}},
              .n_headers = 1};
  expect_ok(h, &e, 200, "GET x-test= auth=- ctype=- len=0 body=");
  mw_host_free(h);
}

/* ---- threads --------------------------------------------------------------- */

static mw_host_t *shared_host;
static void *fetch_many(void *arg) {
  for (int i = 0; i < 25; i++) {
    mw_http_request_t req = {.method = "GET", .url = arg,
                             .timeout_ms = 5000, .max_response_bytes = 100,
                             .url_allowed = allow_all};
    mw_http_response_t r = {0};
    mw_error_t *err = shared_host->http.fetch(shared_host->http_ctx, &req, &r);
    bool ok = !err && r.status == 200 && r.body_len == 5 &&
              !memcmp(r.body, "hello", 5);
    mw_error_free(err);
    response_free(&r);
    if (!ok) return (void *)1;
  }
  return NULL;
}

static void concurrent_fetches_share_one_backend(void **state) {
  (void)state;
  shared_host = curl_host(true, UINT32_MAX, 0);
  char u[128]; /* url()'s static buffers are not for threads */
  snprintf(u, sizeof u, "%s", url("/plain"));
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, fetch_many, u), 0);
  int failed = 0;
  for (int i = 0; i < 4; i++) {
    void *rv;
    pthread_join(t[i], &rv);
    failed += rv != NULL;
  }
  assert_int_equal(failed, 0);
  mw_host_free(shared_host);
}

/* ---- the address classifier ------------------------------------------------ */

typedef struct addr_case {
  const char *addr;
  const char *refusal; /* NULL: public */
} addr_case_t;

static const addr_case_t corpus[] = {
    /* IPv4, with the edges of each range */
    {"8.8.8.8", NULL},
    {"1.1.1.1", NULL},
    {"0.0.0.0", "unspecified"},
    {"0.255.255.255", "unspecified"},
    {"1.0.0.0", NULL},
    {"9.255.255.255", NULL},
    {"10.0.0.0", "private"},
    {"10.255.255.255", "private"},
    {"11.0.0.0", NULL},
    {"100.63.255.255", NULL},
    {"100.64.0.0", "carrier-grade NAT"},
    {"100.127.255.255", "carrier-grade NAT"},
    {"100.128.0.0", NULL},
    {"126.255.255.255", NULL},
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"128.0.0.0", NULL},
    {"169.253.255.255", NULL},
    {"169.254.0.0", "link-local"},
    {"169.254.169.254", "link-local"},
    {"169.255.0.0", NULL},
    {"172.15.255.255", NULL},
    {"172.16.0.0", "private"},
    {"172.31.255.255", "private"},
    {"172.32.0.0", NULL},
    {"192.0.0.8", "reserved (IETF protocol assignments)"},
    {"192.0.2.1", "documentation"},
    {"192.88.99.1", "reserved (6to4 relay anycast)"},
    {"192.167.255.255", NULL},
    {"192.168.0.0", "private"},
    {"192.168.255.255", "private"},
    {"192.169.0.0", NULL},
    {"198.17.255.255", NULL},
    {"198.18.0.0", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"198.20.0.0", NULL},
    {"198.51.100.7", "documentation"},
    {"203.0.113.9", "documentation"},
    {"223.255.255.255", NULL},
    {"224.0.0.1", "multicast"},
    {"239.255.255.255", "multicast"},
    {"240.0.0.1", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    /* IPv6 */
    {"2606:4700:4700::1111", NULL},
    {"2001:4860:4860::8888", NULL},
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"::2", "unspecified"},
    {"::1.2.3.4", "reserved (IPv4-compatible)"},
    {"fe80::1", "link-local"},
    {"febf:ffff::1", "link-local"},
    {"fec0::1", "site-local"},
    {"fc00::1", "unique-local"},
    {"fdff:ffff::1", "unique-local"},
    {"fbff:ffff::1", "reserved"},
    {"ff02::1", "multicast"},
    {"ff05::1:3", "multicast"},
    {"2001:db8::1", "documentation"},
    {"3fff::1", "documentation"},
    {"100::1", "reserved (discard-only)"},
    {"4000::1", "reserved"},
    {"1234::1", "reserved"},
    {"5f00::1", "reserved (SRv6)"},
    /* IPv4 inside IPv6: judged by the IPv4 address */
    {"::ffff:8.8.8.8", NULL},
    {"::ffff:127.0.0.1", "loopback"},
    {"::ffff:10.1.2.3", "private"},
    {"::ffff:169.254.169.254", "link-local"},
    {"::ffff:172.15.255.255", NULL},
    {"::ffff:172.16.0.0", "private"},
    {"::127.0.0.1", "loopback"},
    {"::10.0.0.1", "private"},
    {"::8.8.8.8", "reserved (IPv4-compatible)"},
    {"64:ff9b::8.8.8.8", NULL},
    {"64:ff9b::7f00:1", "loopback"},
    {"64:ff9b::a9fe:a9fe", "link-local"},
    {"64:ff9b::100.64.0.1", "carrier-grade NAT"},
    {"64:ff9b:1::1", "private (local-use NAT64)"},
    {"2002:808:808::1", NULL},
    {"2002:7f00:1::1", "loopback"},
    {"2002:c0a8:101::1", "private"},
    {"2002:a9fe:a9fe::", "link-local"},
    {"2001::1", "Teredo"},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
    {"2001:10::1", "reserved (IETF protocol assignments)"},
    {"2001:200::1", NULL},
};

static void address_classifier_corpus(void **state) {
  (void)state;
  assert_true(N(corpus) >= 40);
  for (size_t i = 0; i < N(corpus); i++) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, corpus[i].addr, &v4->sin_addr) == 1)
      v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, corpus[i].addr, &v6->sin6_addr) == 1)
      v6->sin6_family = AF_INET6;
    else
      fail_msg("corpus: cannot parse %s", corpus[i].addr);
    const struct sockaddr *sa = (const struct sockaddr *)&ss;
    const char *got = mw__address_refusal(sa);
    const char *want = corpus[i].refusal;
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want)))
      fail_msg("%s: got %s, expected %s", corpus[i].addr,
               got ? got : "public", want ? want : "public");
    assert_int_equal(mw__address_is_public(sa), want == NULL);
  }
  /* Not IP at all. */
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  assert_string_equal(mw__address_refusal((const struct sockaddr *)&un),
                      "not an IP address");
  assert_string_equal(mw__address_refusal(NULL), "not an IP address");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(address_classifier_corpus),
      cmocka_unit_test(allowed_request_returns_status_and_body),
      cmocka_unit_test(loopback_refused_unless_private_network_allowed),
      cmocka_unit_test(tricky_hosts_refused_before_connecting),
      cmocka_unit_test(redirect_to_host_not_allowed_is_refused),
      cmocka_unit_test(redirect_to_loopback_refused_without_private_network),
      cmocka_unit_test(redirect_hops_counted_against_the_limit),
      cmocka_unit_test(see_other_turns_post_into_get),
      cmocka_unit_test(cross_origin_redirect_drops_credentials),
      cmocka_unit_test(socket_recheck_refuses_an_address_that_changed),
      cmocka_unit_test(huge_body_is_an_error_and_the_host_survives),
      cmocka_unit_test(too_many_response_headers_are_an_error),
      cmocka_unit_test(slow_response_bounded_by_the_execution_timeout),
      cmocka_unit_test(no_time_left_fails_at_once),
      cmocka_unit_test(runtime_managed_headers_and_bad_names_refused),
      cmocka_unit_test(concurrent_fetches_share_one_backend),
  };
  return cmocka_run_group_tests(tests, start_server, stop_server);
}
