/*
 * http_curl.c - the built-in HTTP backend: libcurl with SSRF defence.
 *
 * http.c has already checked the request against the permissions (host
 * allow-list, header syntax, request caps). This file makes sure an allowed
 * *name* cannot be used to reach a non-public *address*:
 *
 *   1. the host is resolved here (bounded by the deadline), every address
 *      is checked with policy/address.c, and one refused address refuses
 *      the request (a rebinding name may mix public and private answers);
 *   2. curl is pinned to the checked addresses (CURLOPT_RESOLVE), and every
 *      socket curl opens is checked again (CURLOPT_OPENSOCKETFUNCTION);
 *   3. redirects are followed here, each hop checked by the permissions
 *      (req->url_allowed) and by steps 1-2 again.
 *
 * Only http/https, no proxy, netrc or cookies; response headers and body are
 * capped. Easy handles are kept in a small mutex-guarded pool so keep-alive
 * connections are reused across executions; a handle is used by one thread
 * at a time.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host/http_curl.h"
#include "policy/address.h"
#include "util/resolve.h"
#include "runtime/runtime_int.h"
#include "util/buf.h"
#include "util/error_int.h"

#define POOL_MAX 16
#define MAX_ADDRS 16
#define MAX_RESP_HEADERS 128
#define MAX_RESP_HEADER_BYTES (64u << 10)
#define MAX_TIMEOUT_MS (24ull * 3600 * 1000)

typedef struct curl_http {
  mw_http_options_t opts;
  mw_address_rule_fn rule;
  pthread_mutex_t lock; /* guards pool */
  CURL *pool[POOL_MAX];
  size_t n_pool;
} curl_http_t;

/* The addresses a hop was checked against and curl may connect to. */
typedef struct pins {
  struct sockaddr_storage addr[MAX_ADDRS];
  size_t n;
} pins_t;

/* One hop's state, shared with curl's callbacks. */
typedef struct transfer {
  const curl_http_t *c;
  pins_t pins;
  mw_buf_t body;
  bool body_too_big;
  mw_http_header_t *headers;
  size_t n_headers, cap_headers, header_bytes;
  bool headers_too_big;
  const char *socket_refusal; /* set when a socket was refused */
  char socket_addr[INET6_ADDRSTRLEN];
  char errbuf[CURL_ERROR_SIZE];
} transfer_t;

/* What a hop sends. */
typedef struct hop {
  const char *method;
  const uint8_t *body;
  size_t body_len;
  bool drop_credentials;  /* after a cross-origin redirect */
  bool drop_body_headers; /* after a redirect turned the request into GET */
} hop_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void mw_http_options_init(mw_http_options_t *opts) {
  if (!opts) return;
  opts->allow_private_network = false;
  opts->max_redirects = 5;
  opts->connect_timeout_ms = 10000;
  opts->max_response_bytes = 8u << 20;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static uint64_t ms_left(uint64_t deadline_ns) {
  uint64_t now = mw__now_ns();
  return deadline_ns > now ? (deadline_ns - now) / 1000000 : 0;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t size) {
  const void *a = sa->sa_family == AF_INET
                      ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                      : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)size))
    snprintf(buf, size, "?");
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET)
    return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                   &((const struct sockaddr_in *)b)->sin_addr, 4);
  if (a->sa_family == AF_INET6)
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
  return false;
}

/* The name to resolve for host: IPv6 literals without their brackets, and
 * without one trailing dot ("localhost." is "localhost", as the allow-list
 * also sees it; the pin stays under the URL's spelling, which is the name
 * curl looks up). */
static bool resolvable_name(const char *host, char *name, size_t size) {
  size_t hl = strlen(host);
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    host++;
    hl -= 2;
  } else if (hl > 1 && host[hl - 1] == '.') {
    hl--;
  }
  if (hl >= size) return false;
  memcpy(name, host, hl);
  name[hl] = '\0';
  return true;
}

/* Resolves name (an IP literal needs no lookup), checks every address and
 * fills pins with the distinct ones. host is the URL's, for messages. */
static mw_error_t *pin_host(const curl_http_t *c, const char *host,
                            const char *name, const char *port,
                            uint64_t deadline_ns, pins_t *pins,
                            bool *out_literal) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICHOST};
  struct addrinfo *res = NULL;
  mw_error_t *err = NULL;
  *out_literal = getaddrinfo(name, port, &hints, &res) == 0;
  if (!*out_literal) {
    uint64_t dns_deadline =
        c->opts.connect_timeout_ms
            ? min_u64(deadline_ns,
                      mw__now_ns() + c->opts.connect_timeout_ms * 1000000ull)
            : deadline_ns;
    if ((err = mw__resolve(name, port, dns_deadline, &res))) return err;
  }
  pins->n = 0;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    /* Every answer is checked: one private address among public ones is a
     * rebinding attempt, and curl might pick any of them. */
    const char *why =
        c->opts.allow_private_network ? NULL : c->rule(ai->ai_addr);
    if (why) {
      char a[INET6_ADDRSTRLEN];
      addr_text(ai->ai_addr, a, sizeof a);
      err = mw_error_new(MW_ERR_DENIED,
                         "request to '%s' refused: address %s is %s (only "
                         "public addresses are allowed)",
                         host, a, why);
      goto out;
    }
    bool dup = false;
    for (size_t i = 0; i < pins->n && !dup; i++)
      dup = same_addr((const struct sockaddr *)&pins->addr[i], ai->ai_addr);
    if (!dup && pins->n < MAX_ADDRS &&
        ai->ai_addrlen <= sizeof pins->addr[0])
      memcpy(&pins->addr[pins->n++], ai->ai_addr, ai->ai_addrlen);
  }
  if (pins->n == 0)
    err = mw_error_new(MW_ERR_BACKEND, "cannot resolve '%s': no address",
                       host);
out:
  if (res) freeaddrinfo(res);
  return err;
}

/* "host:port:addr,[v6addr],..." for CURLOPT_RESOLVE. */
static char *resolve_entry(const char *host, const char *port,
                           const pins_t *pins) {
  mw_buf_t b;
  mw__buf_init(&b, 8192);
  bool ok = mw__buf_puts(&b, host) && mw__buf_puts(&b, ":") &&
            mw__buf_puts(&b, port) && mw__buf_puts(&b, ":");
  for (size_t i = 0; ok && i < pins->n; i++) {
    const struct sockaddr *sa = (const struct sockaddr *)&pins->addr[i];
    char a[INET6_ADDRSTRLEN];
    addr_text(sa, a, sizeof a);
    bool v6 = sa->sa_family == AF_INET6;
    ok = (i == 0 || mw__buf_puts(&b, ",")) && (!v6 || mw__buf_puts(&b, "[")) &&
         mw__buf_puts(&b, a) && (!v6 || mw__buf_puts(&b, "]"));
  }
  if (!ok) {
    mw__buf_free(&b);
    return NULL;
  }
  return mw__buf_take(&b, NULL);
}

/* ---- curl callbacks ------------------------------------------------------ */

/* Second line of defence: whatever curl decided to connect to must be one
 * of the checked addresses and pass the rule now. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose,
                                    struct curl_sockaddr *a) {
  transfer_t *t = ud;
  const struct sockaddr *sa = &a->addr;
  if (purpose != CURLSOCKTYPE_IPCXN ||
      (a->family != AF_INET && a->family != AF_INET6)) {
    t->socket_refusal = "not an IP connection";
    return CURL_SOCKET_BAD;
  }
  addr_text(sa, t->socket_addr, sizeof t->socket_addr);
  bool pinned = false;
  for (size_t i = 0; i < t->pins.n && !pinned; i++)
    pinned = same_addr((const struct sockaddr *)&t->pins.addr[i], sa);
  if (!pinned) {
    t->socket_refusal = "not the checked address";
    return CURL_SOCKET_BAD;
  }
  const char *why = t->c->opts.allow_private_network ? NULL : t->c->rule(sa);
  if (why) {
    t->socket_refusal = why;
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  transfer_t *t = ud;
  (void)size; /* always 1 */
  if (!mw__buf_append(&t->body, p, n)) {
    t->body_too_big = n > t->body.max - t->body.len; /* else out of memory */
    return 0; /* stop reading: curl fails the transfer */
  }
  return n;
}

static void free_headers(mw_http_header_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(h[i].name);
    free(h[i].value);
  }
  free(h);
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  transfer_t *t = ud;
  (void)size;
  size_t total = n;
  /* Counted over every response of the hop, 1xx included, so a server
   * cannot grow memory with endless interim responses. */
  t->header_bytes += n;
  if (t->header_bytes > MAX_RESP_HEADER_BYTES) {
    t->headers_too_big = true;
    return 0;
  }
  while (n && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
  if (n >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new response begins */
    free_headers(t->headers, t->n_headers);
    t->headers = NULL;
    t->n_headers = t->cap_headers = 0;
    return total;
  }
  const char *colon = n ? memchr(p, ':', n) : NULL;
  if (!colon || is_ows(p[0])) return total; /* blank line, obsolete folding */
  if (t->n_headers >= MAX_RESP_HEADERS) {
    t->headers_too_big = true;
    return 0;
  }
  if (t->n_headers == t->cap_headers) {
    size_t cap = t->cap_headers ? t->cap_headers * 2 : 16;
    mw_http_header_t *h = realloc(t->headers, cap * sizeof *h);
    if (!h) return 0;
    t->headers = h;
    t->cap_headers = cap;
  }
  const char *v = colon + 1, *end = p + n;
  while (v < end && is_ows(*v)) v++;
  while (end > v && is_ows(end[-1])) end--;
  char *name = strndup(p, (size_t)(colon - p));
  char *value = strndup(v, (size_t)(end - v));
  if (!name || !value) {
    free(name);
    free(value);
    return 0;
  }
  t->headers[t->n_headers++] = (mw_http_header_t){name, value};
  return total;
}

/* ---- request headers ----------------------------------------------------- */

/* Framing and routing headers belong to the runtime: a guest-set
 * Content-Length or Transfer-Encoding could desynchronise a pooled
 * keep-alive connection that the next execution reuses, and Host could
 * address a virtual host the allow-list never named. */
static const char *const managed_headers[] = {
    "host",    "content-length", "transfer-encoding", "connection",
    "upgrade", "expect",         "keep-alive",        "proxy-connection",
    "te",      "trailer"};
static const char *const credential_headers[] = {"authorization", "cookie",
                                                 "proxy-authorization"};
static const char *const body_headers[] = {"content-type", "content-encoding",
                                           "content-language",
                                           "content-location"};

static bool in_list(const char *name, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(name, list[i])) return true;
  return false;
}
#define IN_LIST(name, list) in_list(name, list, sizeof list / sizeof *list)

/* An RFC 9110 token: anything else (':' above all) would let a name smuggle
 * a different header into curl's "Name: value" line. */
static bool is_token(const char *s) {
  if (!*s) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
      return false;
  }
  return true;
}

static mw_error_t *check_request(const mw_http_request_t *req) {
  /* The method goes into the request line verbatim. */
  if (!is_token(req->method) || strlen(req->method) > 32)
    return mw_error_new(MW_ERR_INPUT, "invalid method");
  for (size_t i = 0; i < req->header_count; i++) {
    const char *name = req->headers[i].name;
    const char *value = req->headers[i].value;
    if (!name || !value || !is_token(name))
      return mw_error_new(MW_ERR_INPUT, "invalid header name");
    /* http.c refuses these too; a second check costs nothing. */
    if (strpbrk(value, "\r\n"))
      return mw_error_new(MW_ERR_INPUT, "invalid header value (CR or LF)");
    if (IN_LIST(name, managed_headers))
      return mw_error_new(MW_ERR_DENIED,
                          "header '%s' is set by the runtime and cannot be "
                          "set by a node",
                          name);
  }
  return NULL;
}

static struct curl_slist *append(struct curl_slist *l, const char *s,
                                 bool *ok) {
  struct curl_slist *n = *ok ? curl_slist_append(l, s) : NULL;
  if (!n) *ok = false;
  return n ? n : l;
}

static struct curl_slist *build_headers(const mw_http_request_t *req,
                                        const hop_t *hp, bool *ok) {
  struct curl_slist *l = NULL;
  bool has_type = false;
  for (size_t i = 0; i < req->header_count && *ok; i++) {
    const mw_http_header_t *h = &req->headers[i];
    if (hp->drop_credentials && IN_LIST(h->name, credential_headers)) continue;
    if (hp->drop_body_headers && IN_LIST(h->name, body_headers)) continue;
    has_type = has_type || !strcasecmp(h->name, "content-type");
    mw_buf_t b;
    mw__buf_init(&b, strlen(h->name) + strlen(h->value) + 3);
    /* "Name;" is curl's way to send a header with an empty value. */
    bool built = mw__buf_puts(&b, h->name) &&
                 (h->value[0] ? mw__buf_puts(&b, ": ") &&
                                    mw__buf_puts(&b, h->value)
                              : mw__buf_puts(&b, ";"));
    if (!built) *ok = false;
    l = append(l, b.data, ok);
    mw__buf_free(&b);
  }
  l = append(l, "Expect:", ok); /* no 100-continue round trip */
  if (!has_type) l = append(l, "Content-Type:", ok); /* none invented */
  return l;
}

/* ---- one hop ------------------------------------------------------------- */

static void transfer_reset(transfer_t *t) {
  free_headers(t->headers, t->n_headers);
  t->headers = NULL;
  t->n_headers = t->cap_headers = t->header_bytes = 0;
  t->headers_too_big = t->body_too_big = false;
  mw__buf_free(&t->body);
  t->socket_refusal = NULL;
  t->socket_addr[0] = '\0';
  t->errbuf[0] = '\0';
}

static bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

/* Sets an option unless an earlier one failed: every failure is fatal,
 * since a silently ignored option could be a missing defence. */
#define SET(opt, val)                                      \
  do {                                                     \
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); \
  } while (0)

/* Sets the method and body of the hop. */
static CURLcode set_method(CURL *h, const hop_t *hp) {
  CURLcode rc = CURLE_OK;
  bool has_body = hp->body != NULL;
  if (!strcmp(hp->method, "HEAD")) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (has_body || !strcmp(hp->method, "POST") ||
             !strcmp(hp->method, "PUT") || !strcmp(hp->method, "PATCH")) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(has_body ? hp->body_len : 0));
    SET(CURLOPT_POSTFIELDS, has_body ? (const char *)hp->body : "");
    if (strcmp(hp->method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, hp->method);
  } else {
    SET(CURLOPT_HTTPGET, 1L);
    if (strcmp(hp->method, "GET") != 0) SET(CURLOPT_CUSTOMREQUEST, hp->method);
  }
  return rc;
}

/* The hop's URL in curl's normal form (numeric IPv4 forms such as 127.1 or
 * 0x7f.1 become 127.0.0.1) with its host, port and origin. */
typedef struct target {
  char *url, *scheme, *host, *port;
} target_t;

static void target_free(target_t *tg) {
  curl_free(tg->url);
  curl_free(tg->scheme);
  curl_free(tg->host);
  curl_free(tg->port);
  memset(tg, 0, sizeof *tg);
}

static mw_error_t *parse_target(const char *url, target_t *tg) {
  memset(tg, 0, sizeof *tg);
  CURLU *u = curl_url();
  mw_error_t *err = NULL;
  if (!u) return mw__nomem();
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &tg->scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &tg->host, CURLU_PUNYCODE) !=
          CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &tg->port, CURLU_DEFAULT_PORT) !=
          CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &tg->url, CURLU_PUNYCODE) != CURLUE_OK) {
    err = mw_error_new(MW_ERR_INPUT, "invalid URL");
    goto out;
  }
  /* Checked again here, not only by the permissions: nothing but http(s)
   * may leave this backend. */
  if (strcasecmp(tg->scheme, "http") != 0 &&
      strcasecmp(tg->scheme, "https") != 0)
    err = mw_error_new(MW_ERR_DENIED, "scheme '%s' not allowed", tg->scheme);
out:
  if (err) target_free(tg);
  curl_url_cleanup(u);
  return err;
}

/* Sets every option of a hop on a freshly reset handle. */
static CURLcode configure(CURL *h, const curl_http_t *c, const target_t *tg,
                          const hop_t *hp, transfer_t *t,
                          struct curl_slist *resolve_list,
                          struct curl_slist *headers, uint64_t left_ms) {
  uint64_t connect_ms = c->opts.connect_timeout_ms
                            ? min_u64(c->opts.connect_timeout_ms, left_ms)
                            : left_ms;
  CURLcode rc = CURLE_OK;
  curl_easy_reset(h); /* keeps the handle's live connections */
  SET(CURLOPT_URL, tg->url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L); /* each hop is checked here instead */
  SET(CURLOPT_PROXY, "");          /* no proxy from the environment */
  SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED); /* no ~/.netrc secrets */
  SET(CURLOPT_NOSIGNAL, 1L); /* executions run on many threads */
  SET(CURLOPT_RESOLVE, resolve_list); /* pinned to the checked addresses */
  SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket); /* and checked again */
  SET(CURLOPT_OPENSOCKETDATA, t);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, t);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, t);
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  /* A Content-Length over the cap fails before any body is read. */
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)min_u64(t->body.max, INT64_MAX));
  SET(CURLOPT_TIMEOUT_MS, (long)min_u64(left_ms, LONG_MAX));
  SET(CURLOPT_CONNECTTIMEOUT_MS, (long)min_u64(connect_ms, LONG_MAX));
  SET(CURLOPT_HTTPHEADER, headers);
  SET(CURLOPT_USERAGENT, "marie-wasm");
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  if (rc == CURLE_OK) rc = set_method(h, hp);
  return rc;
}

/* The error of a finished transfer, NULL if it succeeded. What the
 * callbacks recorded explains a failure better than curl's code. */
static mw_error_t *transfer_error(const transfer_t *t, CURLcode rc,
                                  const char *host, uint64_t start_ns) {
  if (t->socket_refusal)
    return mw_error_new(MW_ERR_DENIED, "connection to %s for '%s' refused: %s",
                        t->socket_addr, host, t->socket_refusal);
  if (t->body_too_big || rc == CURLE_FILESIZE_EXCEEDED)
    return mw_error_new(MW_ERR_LIMIT, "response body larger than %zu bytes",
                        t->body.max);
  if (t->headers_too_big)
    return mw_error_new(MW_ERR_LIMIT,
                        "response headers larger than %u bytes or more than "
                        "%u headers",
                        MAX_RESP_HEADER_BYTES, MAX_RESP_HEADERS);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return mw_error_new(
        MW_ERR_BACKEND, "request to '%s' timed out after %llu ms", host,
        (unsigned long long)((mw__now_ns() - start_ns) / 1000000));
  if (rc == CURLE_OUT_OF_MEMORY) return mw__nomem();
  if (rc != CURLE_OK)
    return mw_error_new(MW_ERR_BACKEND, "request to '%s' failed: %s", host,
                        t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
  return NULL;
}

/* Performs one hop. On success *out_status is the response status and
 * *out_next the redirect target to follow (malloc'd) or NULL. */
static mw_error_t *run_hop(curl_http_t *c, CURL *h,
                           const mw_http_request_t *req, const hop_t *hp,
                           const target_t *tg, uint64_t start_ns,
                           uint64_t deadline_ns, transfer_t *t,
                           long *out_status, char **out_next) {
  struct curl_slist *resolve_list = NULL, *headers = NULL;
  char *entry = NULL, name[256];
  mw_error_t *err = NULL;
  bool literal = false, ok = true;
  *out_next = NULL;
  if (!resolvable_name(tg->host, name, sizeof name))
    return mw_error_new(MW_ERR_INPUT, "host name too long");
  if ((err = pin_host(c, tg->host, name, tg->port, deadline_ns, &t->pins,
                      &literal)))
    goto out;
  if (!literal) { /* curl never resolves IP literals itself */
    if (!(entry = resolve_entry(tg->host, tg->port, &t->pins)) ||
        !(resolve_list = curl_slist_append(NULL, entry))) {
      err = mw__nomem();
      goto out;
    }
  }
  headers = build_headers(req, hp, &ok);
  if (!ok) {
    err = mw__nomem();
    goto out;
  }
  uint64_t left = ms_left(deadline_ns);
  if (left == 0) { /* 0 would mean "no timeout" to curl */
    err = mw_error_new(MW_ERR_BACKEND, "request to '%s' timed out", tg->host);
    goto out;
  }
  CURLcode rc = configure(h, c, tg, hp, t, resolve_list, headers, left);
  if (rc != CURLE_OK) {
    err = mw_error_new(MW_ERR_BACKEND, "libcurl setup failed: %s",
                       curl_easy_strerror(rc));
    goto out;
  }
  rc = curl_easy_perform(h);
  if ((err = transfer_error(t, rc, tg->host, start_ns))) goto out;
  long status = 0;
  char *next = NULL;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  *out_status = status;
  if (is_redirect(status) &&
      curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next &&
      !(*out_next = strdup(next)))
    err = mw__nomem();
out:
  curl_easy_reset(h); /* drops the handle's pointers to what is freed here */
  curl_slist_free_all(resolve_list);
  curl_slist_free_all(headers);
  free(entry);
  return err;
}

/* ---- the pool ------------------------------------------------------------ */

static CURL *pool_get(curl_http_t *c) {
  CURL *h = NULL;
  pthread_mutex_lock(&c->lock);
  if (c->n_pool) h = c->pool[--c->n_pool];
  pthread_mutex_unlock(&c->lock);
  return h ? h : curl_easy_init();
}

static void pool_put(curl_http_t *c, CURL *h) {
  pthread_mutex_lock(&c->lock);
  if (c->n_pool < POOL_MAX) {
    c->pool[c->n_pool++] = h;
    h = NULL;
  }
  pthread_mutex_unlock(&c->lock);
  if (h) curl_easy_cleanup(h);
}

static void pool_flush(curl_http_t *c) {
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n_pool; i++) curl_easy_cleanup(c->pool[i]);
  c->n_pool = 0;
  pthread_mutex_unlock(&c->lock);
}

/* ---- fetch --------------------------------------------------------------- */

static bool same_origin(const target_t *a, const target_t *b) {
  return !strcasecmp(a->scheme, b->scheme) && !strcasecmp(a->host, b->host) &&
         !strcmp(a->port, b->port);
}

/* Adjusts hp for following a redirect (status) from one target to the
 * next, as browsers do: 303, and 301/302 after POST, continue as GET
 * without a body. */
static void follow(hop_t *hp, long status, const target_t *from,
                   const target_t *to) {
  bool to_get = status == 303 ? strcmp(hp->method, "HEAD") != 0
                              : (status == 301 || status == 302) &&
                                    !strcmp(hp->method, "POST");
  if (to_get) {
    hp->method = "GET";
    hp->body = NULL;
    hp->body_len = 0;
    hp->drop_body_headers = true;
  }
  /* Credentials meant for one origin never travel to another. */
  if (!same_origin(from, to)) hp->drop_credentials = true;
}

static mw_error_t *curl_fetch(void *ctx, const mw_http_request_t *req,
                              mw_http_response_t *out) {
  curl_http_t *c = ctx;
  if (!c || !req || !req->url || !req->method || !out)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  if (req->timeout_ms == 0)
    return mw_error_new(MW_ERR_LIMIT, "no time left for the request");
  mw_error_t *err = check_request(req);
  if (err) return err;
  uint64_t start = mw__now_ns();
  uint64_t deadline = start + min_u64(req->timeout_ms, MAX_TIMEOUT_MS) * 1000000ull;
  uint64_t cap = min_u64(req->max_response_bytes, c->opts.max_response_bytes);

  transfer_t t;
  memset(&t, 0, sizeof t);
  t.c = c;
  hop_t hp = {.method = req->method, .body = req->body,
              .body_len = req->body_len};
  target_t tg = {0}, next_tg = {0};
  char *next = NULL;
  long status = 0;
  CURL *h = pool_get(c);
  if (!h) return mw__nomem();
  if ((err = parse_target(req->url, &tg))) goto out;
  for (uint32_t hops = 0;; hops++) {
    transfer_reset(&t);
    mw__buf_init(&t.body, (size_t)min_u64(cap, SIZE_MAX - 1));
    if ((err = run_hop(c, h, req, &hp, &tg, start, deadline, &t, &status,
                       &next)))
      goto out;
    if (!next) break;
    if (hops >= c->opts.max_redirects) {
      err = mw_error_new(MW_ERR_LIMIT, "more than %u redirects",
                         c->opts.max_redirects);
      goto out;
    }
    if ((err = parse_target(next, &next_tg))) {
      err = mw__error_prefix(err, "redirect from '%s'", tg.host);
      goto out;
    }
    /* Each hop must pass the permissions as the first one did. */
    if (!req->url_allowed || !req->url_allowed(req->url_allowed_ctx, next)) {
      err = mw_error_new(MW_ERR_DENIED,
                         "redirect to '%s' denied by the permissions",
                         next_tg.host);
      goto out;
    }
    follow(&hp, status, &tg, &next_tg);
    target_free(&tg);
    tg = next_tg;
    memset(&next_tg, 0, sizeof next_tg);
    free(next);
    next = NULL;
  }
  out->status = (uint16_t)(status > 0 && status <= 999 ? status : 0);
  if (!(out->body = (uint8_t *)mw__buf_take(&t.body, &out->body_len))) {
    err = mw__nomem();
    goto out;
  }
  out->headers = t.headers;
  out->header_count = t.n_headers;
  t.headers = NULL;
  t.n_headers = 0;
out:
  transfer_reset(&t);
  target_free(&tg);
  target_free(&next_tg);
  free(next);
  pool_put(c, h);
  return err;
}

static void curl_http_free(void *ctx) {
  curl_http_t *c = ctx;
  if (!c) return;
  pool_flush(c);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static const mw_http_vtable_t curl_vtable = {curl_fetch};

mw_error_t *mw_host_use_curl_http(mw_host_t *host,
                                  const mw_http_options_t *opts) {
  if (!host) return mw_error_new(MW_ERR_MISUSE, "NULL host");
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return mw_error_new(MW_ERR_BACKEND, "libcurl initialisation failed: %s",
                        curl_easy_strerror(global_rc));
  curl_http_t *c = calloc(1, sizeof *c);
  if (!c) return mw__nomem();
  if (opts)
    c->opts = *opts;
  else
    mw_http_options_init(&c->opts);
  c->rule = mw__address_refusal;
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    return mw_error_new(MW_ERR_BACKEND, "cannot create a mutex");
  }
  mw_host_set_http(host, &curl_vtable, c, curl_http_free);
  return NULL;
}

void mw__curl_http_set_address_rule(mw_host_t *host, mw_address_rule_fn fn) {
  if (!host || host->http.fetch != curl_fetch) return;
  curl_http_t *c = host->http_ctx;
  c->rule = fn ? fn : mw__address_refusal;
  pool_flush(c); /* no connection made under the old rule is reused */
}
