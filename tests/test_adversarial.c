/*
 * test_adversarial.c - the adversarial guest corpus (tests/adversarial/README.md)
 * run in one process, several rounds: every case ends with its expected
 * outcome (trap kind, err, or the host's exact refusal), and after the
 * rounds the process has the memory, descriptors and threads it had after
 * the second round.
 *
 * usage: test_adversarial [--rounds N] [COMPONENTS_DIR]
 * (default 10 rounds; the directory defaults to $MW_TEST_COMPONENTS.)
 *
 * A plain C program rather than a cmocka group: every case runs in one
 * loop, and Wasmtime's signal handlers stay installed throughout. HTTP
 * cases talk only to tests/http_server.py on 127.0.0.1. Where a redirect
 * must be followed to prove that its target is refused, the backend's
 * address rule is told to treat 127.0.0.1 (the test server) as public and
 * every other address by the real rule, so no non-public address other than
 * the test server is ever contacted.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "marie_wasm.h"
/* Internal: the address-rule hook of the libcurl backend, and the host's
 * vtables (the server's /count is asked directly). */
#include "host/http_curl.h"
#include "runtime/runtime_int.h"

#define US "\037" /* httpprobe's field separator */
#define NUL_MARK '\001' /* stands for a NUL byte in a request template */
#define RSS_GROWTH_MAX_KIB (8 * 1024)

/* ---- the case table ------------------------------------------------------ */

typedef enum host_kind {
  HOST_NONE,   /* no backends */
  HOST_FULL,   /* memory KV (1000 keys per node), JSON secrets, curl HTTP */
  HOST_SERVER  /* curl HTTP where 127.0.0.1 (the test server) counts as public */
} host_kind_t;

typedef enum case_kind { RUN, LOAD } case_kind_t;

typedef struct adv_case adv_case_t;
/* Further checks of a result; returns NULL or what was wrong. */
typedef const char *(*check_fn)(const adv_case_t *k, const mw_result_t *r);

struct adv_case {
  const char *name;
  case_kind_t kind;
  const char *component;
  const char *env;     /* env.vars; NULL: "" */
  const char *perms;   /* JSON; NULL: defaults (deny all) */
  host_kind_t host;
  const char *request; /* one input item; "%d" (up to two) is the server's port */
  mw_outcome_t outcome;
  mw_trap_kind_t trap;
  /* ok: substring of item 0; err/trap: of the message; LOAD: of the error */
  const char *expect;
  int hops;            /* requests the test server must see; -1: not checked */
  check_fn check;
};

#define PERMS_SERVER "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\"]}"
/* Names every non-public target: only the address rule can refuse them. */
#define PERMS_ADDRS                                                         \
  "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\", "         \
  "\"127.0.0.2\", \"[::1]\", \"localhost\", \"169.254.169.254\", "          \
  "\"[fd00:ec2::254]\", \"[::ffff:169.254.169.254]\", \"0.0.0.0\"]}"
#define PERMS_KV "{\"allow_kv\": true, \"kv_prefix\": \"adv\"}"
#define PERMS_SECRETS "{\"allow_secrets\": true, \"secret_allowed_names\": [\"API_KEY\"]}"
#define PERMS_ALL                                                           \
  "{\"allow_kv\": true, \"allow_secrets\": true, \"secret_allowed_names\": " \
  "[\"API_KEY\"], \"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\"]}"
#define BIG_FUEL "\"max_fuel\": 100000000000000"
#define UTF8_TRAP "invalid utf-8 sequence"
#define BAD_HEADER "http-client: invalid header (empty name, CR, LF or NUL)"
#define REFUSED(host, addr, why)                                           \
  "http-client: request to '" host "' refused: address " addr " is " why \
  " (only public addresses are allowed)"

static const char *check_logflood(const adv_case_t *k, const mw_result_t *r);
static const char *check_eventflood(const adv_case_t *k, const mw_result_t *r);
static const char *check_secrets(const adv_case_t *k, const mw_result_t *r);
static const char *check_stdout(const adv_case_t *k, const mw_result_t *r);
static const char *check_nul_item(const adv_case_t *k, const mw_result_t *r);
static const char *check_input_repaired(const adv_case_t *k, const mw_result_t *r);

#define TRAP(kind) MW_OUTCOME_TRAP, MW_TRAP_##kind
#define OK MW_OUTCOME_OK, MW_TRAP_NONE
#define ERR MW_OUTCOME_ERR, MW_TRAP_NONE

static const adv_case_t cases[] = {
    /* CPU, memory, tables, stack */
    {"infinite loop, fuel", RUN, "loop", NULL, "{\"max_fuel\": 200000}", HOST_NONE,
     NULL, TRAP(FUEL_EXHAUSTED), "fuel exhausted (max_fuel 200000)", -1, NULL},
    {"infinite loop, timeout", RUN, "loop", NULL, "{\"timeout_ms\": 20, " BIG_FUEL "}",
     HOST_NONE, NULL, TRAP(TIMEOUT), "execution timed out (timeout_ms 20)", -1, NULL},
    {"host-call loop, timeout", RUN, "hostloop", NULL,
     "{\"allow_kv\": true, \"timeout_ms\": 30, " BIG_FUEL "}", HOST_FULL, NULL,
     TRAP(TIMEOUT), "execution timed out (timeout_ms 30)", -1, NULL},
    {"host-call loop, fuel", RUN, "hostloop", NULL,
     "{\"allow_kv\": true, \"max_fuel\": 2000000}", HOST_FULL, NULL,
     TRAP(FUEL_EXHAUSTED), "fuel exhausted", -1, NULL},
    {"memory bomb", RUN, "membomb", NULL, "{\"max_memory_mb\": 4}", HOST_NONE, NULL,
     TRAP(MEMORY_LIMIT), "linear memory limit reached (max_memory_mb 4", -1, NULL},
    {"memory bomb past the engine's pool", RUN, "membomb", NULL, NULL, HOST_NONE,
     NULL, TRAP(MEMORY_LIMIT), "linear memory limit reached (max_memory_mb 64", -1,
     NULL},
    {"table growth", RUN, "tablebomb", NULL, NULL, HOST_NONE, NULL,
     TRAP(MEMORY_LIMIT), "table limit reached", -1, NULL},
    {"deep recursion", RUN, "recurse", NULL, NULL, HOST_NONE, NULL,
     TRAP(STACK_OVERFLOW), "wasm stack overflow", -1, NULL},
    {"guest trap", RUN, "trap", NULL, NULL, HOST_NONE, NULL, TRAP(GUEST),
     "unreachable", -1, NULL},
    /* huge responses */
    {"huge return: forged 2 GiB string", RUN, "hugeret", "forged-string", NULL,
     HOST_NONE, NULL, TRAP(OUTPUT_LIMIT), "response exceeds max_output_bytes", -1, NULL},
    {"huge return: forged 268M-item list", RUN, "hugeret", "forged-list", NULL,
     HOST_NONE, NULL, TRAP(OUTPUT_LIMIT), "response exceeds max_output_items", -1, NULL},
    {"huge return: forged 2 GiB binary", RUN, "hugeret", "forged-binary", NULL,
     HOST_NONE, NULL, TRAP(OUTPUT_LIMIT), "response exceeds max_output_bytes", -1, NULL},
    {"huge return: forged 2 GiB err", RUN, "hugeret", "forged-err", NULL, HOST_NONE,
     NULL, TRAP(OUTPUT_LIMIT), "response exceeds max_output_bytes", -1, NULL},
    {"huge return: string past memory's end", RUN, "hugeret", "oob", NULL, HOST_NONE,
     NULL, TRAP(GUEST), "out of bounds", -1, NULL},
    {"huge return: 20 MiB item", RUN, "hugeret", "big", NULL, HOST_NONE, NULL,
     TRAP(OUTPUT_LIMIT), "response exceeds max_output_bytes (16777216)", -1, NULL},
    {"huge return: 50 items over max_output_items", RUN, "bigoutput", "50",
     "{\"max_output_items\": 10}", HOST_NONE, NULL, TRAP(OUTPUT_LIMIT),
     "response exceeds max_output_items (10)", -1, NULL},
    /* floods */
    {"log flood", RUN, "logflood", NULL, "{\"max_log_bytes\": 65536}", HOST_NONE, NULL,
     OK, "{\"done\":true}", -1, check_logflood},
    {"event flood", RUN, "eventflood", NULL, "{\"max_events\": 100}", HOST_NONE, NULL,
     OK, "{\"done\":true}", -1, check_eventflood},
    {"kv flood past the quota", RUN, "kvflood", NULL, PERMS_KV, HOST_FULL, NULL, OK,
     "{\"stored\":1000,\"error\":\"kv quota: at most 1000 keys per node; delete keys "
     "or let them expire\",\"big_value\":\"kv.put: value larger than 1 MiB\","
     "\"long_key\":\"kv.put: key longer than 512 bytes\",\"deleted\":1000}",
     -1, NULL},
    {"kv flood without allow_kv", RUN, "kvflood", NULL, NULL, HOST_FULL, NULL, OK,
     "{\"stored\":0,\"error\":\"kv.put denied: allow_kv is false\"", -1, NULL},
    /* secrets */
    {"secrets enumeration", RUN, "secretenum", NULL, PERMS_SECRETS, HOST_FULL, NULL,
     OK, "{\"found\":[\"API_KEY=s3cr3t-api-value\"],\"asked\":10023}", -1,
     check_secrets},
    {"secrets enumeration without allow_secrets", RUN, "secretenum", NULL, NULL,
     HOST_FULL, NULL, OK, "{\"found\":[],\"asked\":10023}", -1, NULL},
    /* HTTP: denied before any resolution or connection */
    {"http without allow_http", RUN, "httpprobe", NULL, NULL, HOST_FULL,
     "GET" US "http://127.0.0.1:%d/plain", OK,
     "http-client: denied: allow_http is false", 0, NULL},
    {"http to a host not allowed", RUN, "httpprobe", NULL,
     "{\"allow_http\": true, \"http_allowed_hosts\": [\"api.allowed.test\"]}",
     HOST_FULL, "GET" US "http://denied.invalid/", OK,
     "http-client: request to 'denied.invalid' denied: needs allow_http and the "
     "host in http_allowed_hosts", 0, NULL},
    {"http userinfo disguising the host", RUN, "httpprobe", NULL,
     "{\"allow_http\": true, \"http_allowed_hosts\": [\"api.allowed.test\"]}",
     HOST_SERVER, "GET" US "http://api.allowed.test@127.0.0.1:%d/plain", OK,
     "http-client: request to '127.0.0.1' denied", 0, NULL},
    {"http file: URL", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "file:///etc/passwd", OK, "http-client: invalid URL", 0, NULL},
    {"http ftp: scheme", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "ftp://127.0.0.1:%d/", OK, "http-client: scheme 'ftp' not allowed", 0,
     NULL},
    /* HTTP: allowed names, non-public addresses */
    {"http to loopback 127.0.0.1", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://127.0.0.1:%d/plain", OK,
     REFUSED("127.0.0.1", "127.0.0.1", "loopback"), 0, NULL},
    {"http to loopback [::1]", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://[::1]:%d/plain", OK, REFUSED("[::1]", "::1", "loopback"), 0,
     NULL},
    {"http to loopback 0x7f000001", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://0x7f000001:%d/plain", OK,
     REFUSED("127.0.0.1", "127.0.0.1", "loopback"), 0, NULL},
    {"http to localhost", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://localhost:%d/plain", OK,
     "http-client: request to 'localhost' refused: address", 0, NULL},
    {"http to 0.0.0.0", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://0.0.0.0:%d/plain", OK,
     REFUSED("0.0.0.0", "0.0.0.0", "unspecified"), 0, NULL},
    {"http to metadata 169.254.169.254", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_FULL, "GET" US "http://169.254.169.254/latest/meta-data/", OK,
     REFUSED("169.254.169.254", "169.254.169.254", "link-local"), 0, NULL},
    {"http to metadata as a decimal number", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_FULL, "GET" US "http://2852039166/latest/meta-data/", OK,
     REFUSED("169.254.169.254", "169.254.169.254", "link-local"), 0, NULL},
    {"http to metadata [fd00:ec2::254]", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_FULL, "GET" US "http://[fd00:ec2::254]/latest/meta-data/", OK,
     REFUSED("[fd00:ec2::254]", "fd00:ec2::254", "unique-local"), 0, NULL},
    {"http to metadata IPv4-mapped", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_FULL,
     "GET" US "http://[::ffff:169.254.169.254]/latest/meta-data/", OK,
     "is link-local (only public addresses are allowed)", 0, NULL},
    /* HTTP: redirects from the test server into refused targets */
    {"http control: the test server answers", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/plain", OK,
     "{\"ok\":true,\"status\":200}", 1, NULL},
    {"redirect to metadata 169.254.169.254", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?to=http://169.254.169.254/latest/meta-data/",
     OK, REFUSED("169.254.169.254", "169.254.169.254", "link-local"), 1, NULL},
    {"redirect (307) to metadata [fd00:ec2::254]", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?code=307&to=http://%%5Bfd00:ec2::254%%5D/",
     OK, REFUSED("[fd00:ec2::254]", "fd00:ec2::254", "unique-local"), 1, NULL},
    {"redirect to loopback 127.0.0.2", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/redirect?to=http://127.0.0.2/plain",
     OK, REFUSED("127.0.0.2", "127.0.0.2", "loopback"), 1, NULL},
    {"redirect to loopback 0x7f000002", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/redirect?to=http://0x7f000002/plain",
     OK, REFUSED("127.0.0.2", "127.0.0.2", "loopback"), 1, NULL},
    {"redirect (307) to loopback [::1]", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?code=307&to=http://%%5B::1%%5D:%d/plain",
     OK, REFUSED("[::1]", "::1", "loopback"), 1, NULL},
    {"redirect to 0.0.0.0", RUN, "httpprobe", NULL, PERMS_ADDRS, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?to=http://0.0.0.0:%d/plain", OK,
     REFUSED("0.0.0.0", "0.0.0.0", "unspecified"), 1, NULL},
    {"redirect chain (2 hops) into metadata", RUN, "httpprobe", NULL, PERMS_ADDRS,
     HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?to=/redirect%%3Fto%%3Dhttp%%3A%%2F%%2F"
     "169.254.169.254%%2F",
     OK, REFUSED("169.254.169.254", "169.254.169.254", "link-local"), 2, NULL},
    {"redirect to a host not allowed", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/redirect?to=http://denied.invalid/",
     OK, "http-client: redirect to 'denied.invalid' denied by the permissions", 1,
     NULL},
    {"redirect to file:", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?to=file:///etc/passwd", OK,
     "http-client: redirect from '127.0.0.1': invalid URL", 1, NULL},
    {"redirect to ftp:", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/redirect?to=ftp://127.0.0.1/", OK,
     "http-client: redirect", 1, NULL},
    /* HTTP: injection (the target would answer; nothing may reach it) */
    {"header injection: CRLF in a value", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/echo" US "x-test" US "1\r\nHost: evil",
     OK, BAD_HEADER, 0, NULL},
    {"header injection: CRLF in a name", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/echo" US "x-a\r\nHost" US "evil", OK,
     BAD_HEADER, 0, NULL},
    {"header injection: bare LF in a value", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/echo" US "x-test" US "1\nX-Injected: 1",
     OK, BAD_HEADER, 0, NULL},
    {"header injection: NUL in a value", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET" US "http://127.0.0.1:%d/echo" US "x-test" US "a\001b", OK,
     BAD_HEADER, 0, NULL},
    {"header injection: name with colon and tab", RUN, "httpprobe", NULL,
     PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/echo" US "x-a: 1\tHost" US "evil", OK,
     "http-client: invalid header name", 0, NULL},
    {"header override: Host", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/echo" US "Host" US "evil.test", OK,
     "header 'Host' is set by the runtime", 0, NULL},
    {"request-line injection in the method", RUN, "httpprobe", NULL, PERMS_SERVER,
     HOST_SERVER, "GET /admin HTTP/1.1\r\nX:" US "http://127.0.0.1:%d/echo", OK,
     "http-client: invalid method", 0, NULL},
    {"CRLF in the URL", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/echo\r\nX-Injected: 1", OK,
     "http-client: invalid URL", 0, NULL},
    {"space and CRLF in the URL", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: evil", OK,
     "http-client: invalid URL", 0, NULL},
    {"NUL in the URL", RUN, "httpprobe", NULL, PERMS_SERVER, HOST_SERVER,
     "GET" US "http://127.0.0.1:%d/plain\001.allowed.test", OK,
     "http-client: invalid URL (NUL byte)", 0, NULL},
    /* text across the boundary */
    {"invalid UTF-8 in an item", RUN, "badutf8", "item", NULL, HOST_NONE, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 in err", RUN, "badutf8", "err", NULL, HOST_NONE, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"overlong UTF-8 in an item", RUN, "badutf8", "overlong", NULL, HOST_NONE, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"UTF-16 surrogate in an item", RUN, "badutf8", "surrogate", NULL, HOST_NONE,
     NULL, TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 logged", RUN, "badutf8", "log", NULL, HOST_NONE, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 event payload", RUN, "badutf8", "event", NULL, HOST_NONE, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 kv key", RUN, "badutf8", "kv-key", PERMS_ALL, HOST_FULL, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 secret name", RUN, "badutf8", "secret", PERMS_ALL, HOST_FULL,
     NULL, TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 URL", RUN, "badutf8", "url", PERMS_ALL, HOST_FULL, NULL,
     TRAP(GUEST), UTF8_TRAP, -1, NULL},
    {"invalid UTF-8 on stdout", RUN, "badutf8", "stdout", NULL, HOST_NONE, NULL, OK,
     "{\"done\":true}", -1, check_stdout},
    {"NUL inside an item", RUN, "badutf8", "nul-item", NULL, HOST_NONE, NULL, OK,
     "\"a", -1, check_nul_item},
    {"NUL inside a log message", RUN, "badutf8", "nul-log", NULL, HOST_NONE, NULL, OK,
     "{\"done\":true}", -1, NULL},
    {"invalid UTF-8 input from the embedder", RUN, "echo", NULL, NULL, HOST_NONE,
     "\"\377\376\"", OK, "\"\xef\xbf\xbd\xef\xbf\xbd\"", -1, check_input_repaired},
    /* components that do not fit the world */
    {"import outside marie:node and WASI", LOAD, "badimport", NULL, NULL, HOST_NONE,
     NULL, OK, "import 'evil:net/raw' is not provided", -1, NULL},
    {"import of a bare function", LOAD, "importfunc", NULL, NULL, HOST_NONE, NULL, OK,
     "import 'spawn' is not provided", -1, NULL},
    {"marie:node import with the wrong type", LOAD, "importtype", NULL, NULL,
     HOST_NONE, NULL, OK,
     "import 'marie:node/kv@1.0.0' function 'get' does not match the world", -1,
     NULL},
    {"marie:node import the world lacks", LOAD, "importtype", NULL, NULL, HOST_NONE,
     NULL, OK, "import 'marie:node/shell@1.0.0' is not an interface of marie:node", -1,
     NULL},
    {"execute export with the wrong type", LOAD, "badexport", NULL, NULL, HOST_NONE,
     NULL, OK, "execute", -1, NULL},
};
#define N_CASES (sizeof cases / sizeof *cases)

/* ---- checks -------------------------------------------------------------- */

static const char *check_logflood(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  mw_stats_t s;
  mw_result_stats(r, &s);
  size_t kept = 0;
  for (size_t i = 0; i < mw_result_log_count(r); i++)
    kept += strlen(mw_result_log(r, i, NULL, NULL));
  if (kept > 65536) return "kept more log bytes than max_log_bytes";
  if (s.logs_dropped + mw_result_log_count(r) < 1000000) return "log records lost";
  return NULL;
}

static const char *check_eventflood(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  mw_stats_t s;
  mw_result_stats(r, &s);
  if (mw_result_event_count(r) != 100) return "did not keep exactly max_events";
  if (s.events_dropped != 1000000 - 100) return "events_dropped is not 999900";
  return NULL;
}

static const char *check_secrets(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  mw_stats_t s;
  mw_result_stats(r, &s);
  if (s.denied_calls != 10022) return "denied_calls is not 10022";
  for (size_t i = 0; i < mw_result_log_count(r); i++) {
    mw_log_source_t src;
    const char *m = mw_result_log(r, i, NULL, &src);
    if (strstr(m, "s3cr3t-api-value")) return "a log shows the secret's value";
    if (src == MW_LOG_CONSOLE && strcmp(m, "API_KEY=[REDACTED]") != 0)
      return "the guest's log of the value is not redacted";
  }
  return NULL;
}

static const char *check_stdout(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  mw_log_source_t src;
  const char *m = mw_result_log_count(r) == 1 ? mw_result_log(r, 0, NULL, &src) : NULL;
  if (!m || src != MW_LOG_STDOUT || strcmp(m, "\"?? bad\"") != 0)
    return "stdout was not kept as one repaired line";
  return NULL;
}

static const char *check_nul_item(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  size_t len = 0;
  const char *j = mw_result_item_json(r, 0, &len);
  if (len != 5 || memcmp(j, "\"a\0b\"", 5) != 0) return "the item's bytes changed";
  char *doc = mw_result_to_json(r, 0);
  bool same = doc && strcmp(doc, "{\"ok\":[{\"json\":\"\\\"a\\u0000b\\\"\"}]}") == 0;
  free(doc);
  return same ? NULL : "the result's JSON does not carry the NUL";
}

static const char *check_input_repaired(const adv_case_t *k, const mw_result_t *r) {
  (void)k;
  size_t len = 0;
  mw_result_item_json(r, 0, &len);
  return len == 8 ? NULL : "the repaired item is not 8 bytes";
}

/* ---- the test server ------------------------------------------------------- */

static pid_t server_pid = -1;
static int port;
static mw_host_t *probe; /* reaches the server's /count */

static const char *server_script(void) {
  static char path[4096];
  const char *env = getenv("MW_TEST_HTTP_SERVER");
  if (env && *env) return env;
  const char *slash = strrchr(__FILE__, '/');
  snprintf(path, sizeof path, "%.*s/http_server.py",
           slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
  return path;
}

static bool start_server(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  char *const argv[] = {(char *)"python3", (char *)server_script(), NULL};
  server_pid = fork();
  if (server_pid < 0) return false;
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
  port = (int)strtol(line, NULL, 10);
  if (port <= 0 || port > 65535) return false;
  mw_http_options_t o;
  mw_http_options_init(&o);
  o.allow_private_network = true;
  probe = mw_host_new();
  return probe && !mw_host_use_curl_http(probe, &o);
}

static void stop_server(void) {
  mw_host_free(probe);
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
  }
}

static bool always_allowed(void *ctx, const char *url) {
  (void)ctx, (void)url;
  return true;
}

/* Requests the server has served (not counting /count). */
static long served(void) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/count", port);
  mw_http_request_t req = {.method = "GET", .url = url, .timeout_ms = 5000,
                           .max_response_bytes = 64, .url_allowed = always_allowed};
  mw_http_response_t resp = {0};
  mw_error_t *err = probe->http.fetch(probe->http_ctx, &req, &resp);
  long n = err || !resp.body ? -1 : strtol((const char *)resp.body, NULL, 10);
  mw_error_free(err);
  for (size_t i = 0; i < resp.header_count; i++) {
    free(resp.headers[i].name);
    free(resp.headers[i].value);
  }
  free(resp.headers);
  free(resp.body);
  return n;
}

/* ---- hosts ------------------------------------------------------------------ */

/* The test server passes as public; every other address gets the real rule. */
static const char *server_is_public(const struct sockaddr *sa) {
  struct sockaddr_in sin;
  if (sa->sa_family == AF_INET) {
    memcpy(&sin, sa, sizeof sin);
    if (sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) return NULL;
  }
  return mw__address_refusal(sa);
}

static mw_host_t *make_host(host_kind_t kind) {
  static const char secrets[] =
      "{\"API_KEY\": \"s3cr3t-api-value\", \"DB_PASSWORD\": \"hunter22-db\", "
      "\"AWS_SECRET_ACCESS_KEY\": \"aws-secret-value\"}";
  mw_host_t *h = mw_host_new();
  mw_error_t *err = NULL;
  if (!h) return NULL;
  if (kind == HOST_FULL) {
    mw_kv_limits_t limits;
    mw_kv_limits_init(&limits);
    limits.max_keys_per_prefix = 1000;
    err = mw_host_use_kv_url(h, "memory:", &limits);
    if (!err) err = mw_host_use_secrets_json(h, secrets, sizeof secrets - 1);
  }
  if (!err) err = mw_host_use_curl_http(h, NULL);
  if (!err && kind == HOST_SERVER) mw__curl_http_set_address_rule(h, server_is_public);
  if (err) {
    fprintf(stderr, "adversarial: host: %s\n", mw_error_message(err));
    mw_error_free(err);
    mw_host_free(h);
    return NULL;
  }
  return h;
}

/* ---- running a case ----------------------------------------------------------- */

static mw_engine_t *engine;
static const char *dir;
static mw_component_t *loaded[N_CASES];
static bool verbose;

static const char *path_of(const char *component) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s.wasm", dir, component);
  return buf;
}

/* Item 0's JSON, the err message or the trap message, by outcome. */
static const char *what_came_back(const mw_result_t *r) {
  if (mw_result_outcome(r) != MW_OUTCOME_OK) return mw_result_message(r);
  const char *j = mw_result_item_count(r) ? mw_result_item_json(r, 0, NULL) : NULL;
  return j ? j : "";
}

/* Runs case k; returns NULL or why it went wrong (in a static buffer). */
static const char *run_case(const adv_case_t *k, size_t index, mw_host_t *const *hosts) {
  static char why[2048];
  if (k->kind == LOAD) {
    mw_component_t *c = NULL;
    mw_error_t *err = mw_component_load_file(engine, path_of(k->component), &c);
    const char *m = mw_error_message(err);
    bool good = mw_error_status(err) == MW_ERR_COMPONENT && strstr(m, k->expect);
    snprintf(why, sizeof why, "load: %s '%s'", mw_status_name(mw_error_status(err)),
             err ? m : "");
    mw_error_free(err);
    mw_component_free(c);
    return good ? NULL : why;
  }
  if (!loaded[index]) {
    for (size_t i = 0; i < index && !loaded[index]; i++)
      if (loaded[i] && !strcmp(cases[i].component, k->component)) loaded[index] = loaded[i];
    mw_error_t *err =
        loaded[index] ? NULL : mw_component_load_file(engine, path_of(k->component), &loaded[index]);
    if (err) {
      snprintf(why, sizeof why, "load: %s", mw_error_message(err));
      mw_error_free(err);
      return why;
    }
  }
  mw_request_t *req = NULL;
  mw_permissions_t *p = NULL;
  mw_result_t *r = NULL;
  mw_error_t *err = mw_request_new(&req);
  if (!err && k->env) err = mw_request_set_env(req, k->env, strlen(k->env));
  if (!err && k->perms) err = mw_permissions_from_json(k->perms, strlen(k->perms), &p);
  if (!err && k->request) {
    char text[1024];
    int n = snprintf(text, sizeof text, k->request, port, port);
    for (int i = 0; i < n; i++)
      if (text[i] == NUL_MARK) text[i] = '\0';
    err = mw_request_add_item(req, text, (size_t)n, NULL, 0);
  }
  long before = k->hops >= 0 ? served() : 0;
  if (!err) {
    mw_request_set_permissions(req, p);
    mw_request_set_host(req, hosts[k->host]);
    err = mw_execute(engine, loaded[index], req, &r);
  }
  const char *bad = NULL;
  if (verbose && r) {
    mw_stats_t st;
    mw_result_stats(r, &st);
    printf("  %-44s %6.1f ms  %s: %.160s\n", k->name, (double)st.wall_time_us / 1000,
           mw_result_outcome(r) == MW_OUTCOME_TRAP ? mw_trap_kind_name(mw_result_trap_kind(r))
           : mw_result_outcome(r) == MW_OUTCOME_ERR ? "err" : "ok",
           what_came_back(r));
  }
  if (err) {
    snprintf(why, sizeof why, "API error: %s", mw_error_message(err));
    bad = why;
  } else if (mw_result_outcome(r) != k->outcome || mw_result_trap_kind(r) != k->trap ||
             !strstr(what_came_back(r), k->expect)) {
    char *j = mw_result_to_json(r, MW_JSON_STATS);
    snprintf(why, sizeof why, "got %.1500s", j ? j : "?");
    free(j);
    bad = why;
  } else if (k->check && (bad = k->check(k, r))) {
  } else if (k->hops >= 0) {
    long seen = served() - before;
    if (seen != k->hops) {
      snprintf(why, sizeof why, "the test server saw %ld requests, expected %d", seen,
               k->hops);
      bad = why;
    }
  }
  mw_error_free(err);
  mw_result_free(r);
  mw_permissions_free(p);
  mw_request_free(req);
  return bad;
}

/* ---- resources ---------------------------------------------------------------- */

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static long count_dir(const char *path) {
  DIR *d = opendir(path);
  long n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the DIR's own descriptor or nothing; constant either way */
}

/* Threads, once detached DNS lookups have finished (they may outlive the
 * request that started them by a moment). */
static long threads_settled(void) {
  long n = count_dir("/proc/self/task");
  for (int i = 0; i < 50; i++) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    long m = count_dir("/proc/self/task");
    if (m == n) break;
    n = m;
  }
  return n;
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  int rounds = 10;
  dir = getenv("MW_TEST_COMPONENTS");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-v"))
      verbose = true;
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = (int)strtol(argv[++i], NULL, 10);
    else
      dir = argv[i];
  }
  if (!dir || !*dir || rounds < 3) {
    fprintf(stderr, "usage: test_adversarial [--rounds N>=3] [COMPONENTS_DIR]\n");
    return 64;
  }
  if (!start_server()) {
    fprintf(stderr, "adversarial: could not start %s\n", server_script());
    stop_server();
    return 1;
  }
  /* Pool slots of 32 MiB: "memory bomb past the engine's pool" has the
   * default 64 MiB of max_memory_mb. */
  mw_engine_config_t *cfg = mw_engine_config_new();
  mw_engine_config_pool_instances(cfg, 8);
  mw_engine_config_max_memory_mb(cfg, 32);
  mw_error_t *err = mw_engine_new(cfg, &engine);
  mw_engine_config_free(cfg);
  if (err) {
    fprintf(stderr, "adversarial: engine: %s\n", mw_error_message(err));
    mw_error_free(err);
    stop_server();
    return 1;
  }

  size_t wrong_total = 0;
  long rss2 = 0, fds2 = 0, threads2 = 0, rss = 0, fds = 0, threads = 0;
  for (int round = 1; round <= rounds; round++) {
    mw_host_t *hosts[3] = {NULL, make_host(HOST_FULL), make_host(HOST_SERVER)};
    size_t correct = 0;
    if (!hosts[HOST_FULL] || !hosts[HOST_SERVER]) return 1;
    for (size_t i = 0; i < N_CASES; i++) {
      const char *why = run_case(&cases[i], i, hosts);
      if (why)
        fprintf(stderr, "round %d: WRONG: %s: %s\n", round, cases[i].name, why);
      else
        correct++;
    }
    mw_host_free(hosts[HOST_FULL]);
    mw_host_free(hosts[HOST_SERVER]);
    wrong_total += N_CASES - correct;
    rss = rss_kib();
    fds = count_dir("/proc/self/fd");
    threads = threads_settled();
    if (round == 2) rss2 = rss, fds2 = fds, threads2 = threads;
    printf("round %d: %zu cases, %zu correct; rss %ld KiB, fds %ld, threads %ld\n", round,
           N_CASES, correct, rss, fds, threads);
    fflush(stdout);
  }

  for (size_t i = 0; i < N_CASES; i++) {
    bool shared = false;
    for (size_t j = 0; j < i; j++) shared = shared || loaded[j] == loaded[i];
    if (!shared) mw_component_free(loaded[i]);
  }
  mw_engine_free(engine);
  stop_server();

  bool ok = wrong_total == 0;
  printf("adversarial: %zu cases x %d rounds, %zu correct; rss after round 2 %ld KiB, "
         "after round %d %ld KiB (%+ld KiB); fds %ld -> %ld; threads %ld -> %ld\n",
         N_CASES, rounds, N_CASES * (size_t)rounds - wrong_total, rss2, rounds, rss,
         rss - rss2, fds2, fds, threads2, threads);
#if !defined(__SANITIZE_ADDRESS__)
  /* ASan's quarantine holds freed memory, so RSS says nothing there. */
  if (rss - rss2 > RSS_GROWTH_MAX_KIB) {
    fprintf(stderr, "adversarial: RSS grew by %ld KiB (limit %d)\n", rss - rss2,
            RSS_GROWTH_MAX_KIB);
    ok = false;
  }
#endif
  if (fds != fds2 || threads != threads2) {
    fprintf(stderr, "adversarial: descriptors or threads leaked\n");
    ok = false;
  }
  return ok ? 0 : 1;
}
