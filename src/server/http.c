/*
 * http.c - the service's HTTP layer on libmicrohttpd: routing, the checks
 * every request passes before a handler runs, reading the body, sending the
 * reply, and the access log when the request is done.
 *
 * One thread per connection: a handler may run for as long as an execution
 * takes without holding up other clients. The checks come in the order
 * that costs the server least: route, draining, auth, declared size,
 * admission (429), and only then is the body read (bounded by max_body).
 */
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/server.h"

typedef void (*srv_handler_fn)(srv_req_t *r, srv_reply_t *out);

typedef struct srv_route {
  const char *method;
  const char *path;  /* exact, or a prefix when with_id */
  bool with_id;      /* the rest of the path is {id} */
  bool auth;         /* needs the bearer token (when configured) */
  bool admit;        /* counts against max_concurrency */
  srv_handler_fn fn;
} srv_route_t;

/* /healthz stays open so load balancers can probe without the token. */
static const srv_route_t routes[] = {
    {"GET", "/healthz", false, false, false, srv_handle_healthz},
    {"GET", "/metrics", false, true, false, srv_handle_metrics},
    {"POST", "/v1/execute", false, true, true, srv_handle_execute},
    {"POST", "/v1/compile", false, true, true, srv_handle_compile},
    {"POST", "/v1/components", false, true, true, srv_handle_upload},
    {"GET", "/v1/components/", true, true, true, srv_handle_component},
};

/* The route for method+path. When none, *allow is the method the path
 * does have (405) or NULL (404). */
static const srv_route_t *find_route(const char *method, const char *path,
                                     const char **allow, const char **id) {
  *allow = NULL;
  *id = NULL;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const srv_route_t *rt = &routes[i];
    size_t n = strlen(rt->path);
    if (rt->with_id) {
      if (strncmp(path, rt->path, n) != 0 || !path[n] || strchr(path + n, '/'))
        continue;
    } else if (strcmp(path, rt->path) != 0) {
      continue;
    }
    if (strcmp(method, rt->method) == 0) {
      if (rt->with_id) *id = path + n;
      return rt;
    }
    *allow = rt->method;
  }
  return NULL;
}

/* ---- replies ------------------------------------------------------------- */

void srv_reply_header(srv_reply_t *out, const char *name, const char *value) {
  for (int i = 0; i < 3; i++) {
    if (!out->header_name[i]) {
      out->header_name[i] = name;
      out->header_value[i] = strdup(value);
      return;
    }
  }
}

void srv_reply_json(srv_reply_t *out, unsigned status, json_t *doc) {
  free(out->body);
  out->body = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(doc);
  out->status = out->body ? status : 500;
  out->len = out->body ? strlen(out->body) : 0;
  out->content_type = "application/json";
}

/* Replaces each byte of s that does not start a valid UTF-8 sequence with
 * '?': messages quote client input (node ids, keys, fields) and JSON text
 * must be UTF-8. */
void srv_utf8_clean(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2
             : *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (*p == 0xe0) lo = 0xa0;
    else if (*p == 0xed) hi = 0x9f; /* no surrogates */
    else if (*p == 0xf0) lo = 0x90;
    else if (*p == 0xf4) hi = 0x8f;
    bool ok = n > 0;
    for (size_t i = 1; ok && i < n; i++)
      ok = i == 1 ? p[i] >= lo && p[i] <= hi : p[i] >= 0x80 && p[i] <= 0xbf;
    if (!ok) {
      *p++ = '?';
      continue;
    }
    p += n;
  }
}

void srv_reply_error(srv_reply_t *out, unsigned status, const char *code,
                     const char *fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n > SRV_MAX_MESSAGE ? SRV_MAX_MESSAGE : (size_t)n;
  char *msg = malloc(len + 1);
  if (msg) {
    vsnprintf(msg, len + 1, fmt, again);
    srv_utf8_clean(msg);
  }
  va_end(again);
  srv_reply_json(out, status,
                 msg ? json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg)
                     : NULL);
  free(msg);
}

/* Which HTTP status an mw_error_t is: the caller's fault (4xx) or ours. */
static unsigned status_of(const mw_error_t *err, const char **code) {
  switch (mw_error_status(err)) {
    case MW_ERR_INPUT: *code = "bad_request"; return 400;
    case MW_ERR_COMPONENT: *code = "invalid_component"; return 422;
    case MW_ERR_COMPILE: *code = "compile_error"; return 422;
    case MW_ERR_LIMIT: *code = "limit_exceeded"; return 422;
    case MW_ERR_DENIED: *code = "denied"; return 403;
    case MW_ERR_ARTIFACT: *code = "artifact_mismatch"; return 409;
    case MW_ERR_IO:
      if (srv_is_not_found(err)) { *code = "not_found"; return 404; }
      *code = "storage_error"; return 502;
    case MW_ERR_BACKEND: *code = "backend_unavailable"; return 503;
    case MW_ERR_NOMEM: *code = "out_of_memory"; return 503;
    default: *code = "internal"; return 500;
  }
}

void srv_reply_mw_error(srv_reply_t *out, mw_error_t *err, const char *what) {
  const char *code;
  unsigned status = status_of(err, &code);
  const char *msg = mw_error_message(err);
  if (what) srv_reply_error(out, status, code, "%s: %s", what, msg);
  else srv_reply_error(out, status, code, "%s", msg);
  mw_error_free(err);
}

const char *srv_query(const srv_req_t *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_header(const srv_req_t *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result send_reply(srv_req_t *r, srv_reply_t *out) {
  /* A handler's reply that could not be built (out of memory): a 500, or
   * an empty one if even that cannot be had. */
  if (!out->body) srv_reply_error(out, 500, "internal", "out of memory");
  if (!out->body) out->status = 500, out->len = 0;
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
      out->len, out->body, free);
  if (!resp) {
    free(out->body);
    return MHD_NO;
  }
  out->body = NULL; /* the response owns it now */
  MHD_add_response_header(resp, "Content-Type",
                          out->content_type ? out->content_type
                                            : "application/json");
  MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  for (int i = 0; i < 3; i++) {
    if (out->header_name[i] && out->header_value[i])
      MHD_add_response_header(resp, out->header_name[i], out->header_value[i]);
    free(out->header_value[i]);
    out->header_value[i] = NULL;
  }
  /* A draining server tells keep-alive clients to go elsewhere. */
  if (atomic_load(&r->srv->draining))
    MHD_add_response_header(resp, "Connection", "close");
  r->status = out->status;
  r->bytes_out = out->len;
  srv_metrics_status(&r->srv->metrics, out->status);
  enum MHD_Result ret = MHD_queue_response(r->conn, out->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result reply_now(srv_req_t *r, unsigned status,
                                 const char *code, const char *msg,
                                 const char *allow) {
  srv_reply_t out = {0};
  srv_reply_error(&out, status, code, "%s", msg);
  if (status == 401) srv_reply_header(&out, "WWW-Authenticate", "Bearer");
  if (status == 429 || status == 503) srv_reply_header(&out, "Retry-After", "1");
  if (allow) srv_reply_header(&out, "Allow", allow);
  return send_reply(r, &out);
}

/* Largest declared body read (and dropped) before a 429. */
#define BUSY_DRAIN_MAX (64 * 1024)

static enum MHD_Result reply_busy(srv_req_t *r) {
  return reply_now(r, 429, "too_many_requests",
                   "the server is at its concurrency limit; retry later", NULL);
}

/* ---- the request's life -------------------------------------------------- */

static srv_req_t *begin(server_t *s, struct MHD_Connection *conn,
                        const char *url, const char *method) {
  srv_req_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->srv = s;
  r->conn = conn;
  r->start_us = srv_now_us();
  r->method = strdup(method);
  r->path = strdup(url);
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) memset(rnd, 0, sizeof rnd);
  for (int i = 0; i < 16; i++) snprintf(r->request_id + 2 * i, 3, "%02x", rnd[i]);
  if (!r->method || !r->path) {
    free(r->method);
    free(r->path);
    free(r);
    return NULL;
  }
  atomic_fetch_add(&s->open_requests, 1);
  return r;
}

/* The checks before the body is read; MHD_YES with nothing queued to go
 * on reading. */
static enum MHD_Result first_call(srv_req_t *r) {
  server_t *s = r->srv;
  const char *allow;
  r->route = find_route(r->method, r->path, &allow, &r->id);
  if (!r->route)
    return allow ? reply_now(r, 405, "method_not_allowed", "method not allowed", allow)
                 : reply_now(r, 404, "not_found", "no such endpoint", NULL);
  if (atomic_load(&s->draining) && r->route->fn != srv_handle_healthz)
    return reply_now(r, 503, "shutting_down", "the server is shutting down", NULL);
  if (r->route->auth && s->auth &&
      !srv_auth_check(s->token_digest, srv_header(r, "Authorization")))
    return reply_now(r, 401, "unauthorized",
                     "missing or wrong bearer token (Authorization: Bearer ...)", NULL);
  const char *cl = srv_header(r, "Content-Length");
  unsigned long long declared = 0;
  if (cl) {
    char *end = NULL;
    declared = strtoull(cl, &end, 10);
    if (end == cl || *end || declared > s->cfg.max_body)
      return reply_now(r, 413, "too_large", "request body larger than --max-body", NULL);
  }
  if (r->route->admit) {
    unsigned was = atomic_fetch_add(&s->admitted, 1);
    if (was >= s->cfg.max_concurrency) {
      atomic_fetch_sub(&s->admitted, 1);
      /* A small body is read and thrown away so the 429 can keep the
       * connection: a client refused under load then retries without a
       * new connection (and a new thread here). A large one is refused
       * now, closing the connection. */
      if (declared > BUSY_DRAIN_MAX) return reply_busy(r);
      r->busy = true;
      return MHD_YES;
    }
    r->admitted = true;
  }
  return MHD_YES;
}

/* Appends upload data within max_body. A chunked body (no Content-Length
 * to refuse up front) that overflows is drained up to twice the limit so
 * the client still reads a 413; past that the connection is closed. */
static enum MHD_Result take_body(srv_req_t *r, const char *data, size_t n) {
  size_t max = r->srv->cfg.max_body;
  if (!r->too_large && n > max - r->body_len) {
    r->too_large = true;
    r->drained = r->body_len;
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
  }
  if (r->too_large) {
    r->drained += n;
    return r->drained / 2 > max ? MHD_NO : MHD_YES;
  }
  if (r->body_len + n + 1 > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap : 4096;
    while (cap < r->body_len + n + 1) cap *= 2;
    if (cap > max + 1) cap = max + 1;
    char *nb = realloc(r->body, cap);
    if (!nb) return MHD_NO;
    r->body = nb;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  server_t *s = cls;
  srv_req_t *r = *con_cls;
  if (!r) {
    if (!(r = begin(s, conn, url, method))) return MHD_NO;
    *con_cls = r;
    return first_call(r);
  }
  if (*upload_size) {
    enum MHD_Result ok = MHD_YES;
    if (!r->busy) ok = take_body(r, upload_data, *upload_size);
    else if ((r->drained += *upload_size) > BUSY_DRAIN_MAX) ok = MHD_NO; /* chunked */
    *upload_size = 0;
    return ok;
  }
  if (r->busy) return reply_busy(r);
  if (r->too_large)
    return reply_now(r, 413, "too_large", "request body larger than --max-body", NULL);
  if (!r->body && !(r->body = calloc(1, 1))) return MHD_NO;
  srv_reply_t out = {0};
  r->route->fn(r, &out);
  /* The work is done: free the admission before the reply can reach the
   * client, so its next request is not refused for this one. */
  if (r->admitted) {
    atomic_fetch_sub(&s->admitted, 1);
    r->admitted = false;
  }
  return send_reply(r, &out);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe) {
  server_t *s = cls;
  srv_req_t *r = *con_cls;
  if (!r) return;
  *con_cls = NULL;
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->outcome)
    r->outcome = "connection_closed";
  srv_log_access(r);
  if (r->admitted) atomic_fetch_sub(&s->admitted, 1);
  free(r->body);
  free(r->method);
  free(r->path);
  free(r);
  /* The drain in server.c waits for open_requests to reach zero. */
  pthread_mutex_lock(&s->lock);
  atomic_fetch_sub(&s->open_requests, 1);
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n') msg[--n] = '\0';
  srv_log("warn", msg, NULL);
}

/* ---- the daemon ------------------------------------------------------------ */

/* "host:port" or "[v6]:port" -> a socket address; numeric hosts and names. */
static bool parse_listen(const char *listen, struct sockaddr_storage *out,
                         socklen_t *out_len, char *errbuf, size_t errlen) {
  char host[256];
  const char *colon = strrchr(listen, ':');
  if (!colon || colon == listen || !colon[1]) {
    snprintf(errbuf, errlen, "--listen '%s': expected HOST:PORT", listen);
    return false;
  }
  size_t hl = (size_t)(colon - listen);
  const char *h = listen;
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') h++, hl -= 2;
  if (hl == 0 || hl >= sizeof host) {
    snprintf(errbuf, errlen, "--listen '%s': bad host", listen);
    return false;
  }
  memcpy(host, h, hl);
  host[hl] = '\0';
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo(host, colon + 1, &hints, &ai);
  if (rc != 0 || !ai) {
    snprintf(errbuf, errlen, "--listen '%s': %s", listen, gai_strerror(rc));
    return false;
  }
  memcpy(out, ai->ai_addr, ai->ai_addrlen);
  *out_len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return true;
}

bool srv_listen_check(const char *listen, char *errbuf, size_t errlen) {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  return parse_listen(listen, &addr, &addr_len, errbuf, errlen);
}

struct MHD_Daemon *srv_http_start(server_t *s, char *errbuf, size_t errlen) {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  if (!parse_listen(s->cfg.listen, &addr, &addr_len, errbuf, errlen))
    return NULL;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, /* first, so it catches all */
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections,
      /* Idle or slow clients let go of their thread after this long. */
      MHD_OPTION_CONNECTION_TIMEOUT, 60u,
      /* Guest code runs on this thread's stack: room for the 512 KiB wasm
       * stack and the host's frames, whatever `ulimit -s` says. */
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)8 << 20,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u,
      MHD_OPTION_END);
  if (!d) snprintf(errbuf, errlen, "cannot listen on %s", s->cfg.listen);
  return d;
}
