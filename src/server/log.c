/*
 * log.c - the service's structured logs: one JSON object a line on stderr,
 * written with a single write(2) so lines from concurrent requests never
 * interleave. Access lines carry what an operator needs (who, what, status,
 * time, outcome), never bodies, tokens, secrets or query strings.
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

void srv_rfc3339(char out[40]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static void emit(json_t *doc) {
  size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6);
  char *line = doc ? json_dumps(doc, flags) : NULL;
  json_decref(doc);
  if (!line) return;
  size_t n = strlen(line);
  char *nl = realloc(line, n + 2);
  if (nl) {
    nl[n] = '\n';
    nl[n + 1] = '\0';
    line = nl;
    n++;
  }
  for (size_t off = 0; off < n;) {
    ssize_t w = write(STDERR_FILENO, line + off, n - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
  free(line);
}

void srv_log(const char *level, const char *msg, json_t *fields) {
  char ts[40];
  srv_rfc3339(ts);
  json_t *doc = json_pack("{s:s, s:s, s:s}", "time", ts, "level", level, "msg", msg);
  if (doc && fields) json_object_update(doc, fields);
  json_decref(fields);
  emit(doc);
}

static void client_address(const srv_req_t *r, char *out, size_t len) {
  snprintf(out, len, "-");
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

/* Request lines are the client's bytes: keep printable ASCII, cap length. */
static void clean(const char *in, char *out, size_t len) {
  size_t i = 0;
  for (; in && in[i] && i + 1 < len; i++)
    out[i] = in[i] > ' ' && in[i] < 0x7f ? in[i] : '?';
  out[i] = '\0';
}

void srv_log_access(const srv_req_t *r) {
  uint64_t now = srv_now_us();
  char addr[64], method[16], path[256];
  client_address(r, addr, sizeof addr);
  clean(r->method, method, sizeof method);
  clean(r->path, path, sizeof path);
  json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I, s:I}", "request_id",
                        r->request_id, "remote", addr, "method", method, "path",
                        path, "status", (int)r->status, "duration_ms",
                        (double)(now - r->start_us) / 1000.0, "bytes_in",
                        (json_int_t)(r->too_large ? r->drained : r->body_len),
                        "bytes_out", (json_int_t)r->bytes_out);
  if (f && r->component_id[0])
    json_object_set_new(f, "component_id", json_string(r->component_id));
  if (f && r->outcome) json_object_set_new(f, "outcome", json_string(r->outcome));
  srv_log("info", "request", f);
}
