/*
 * host.c - mw_host_t: the bundle of backends and sinks executions use, and
 * the built-in JSON-lines sink.
 */
#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/host_int.h"

mw_host_t *mw_host_new(void) {
  mw_host_t *h = calloc(1, sizeof(mw_host_t));
  if (!h) return NULL;
  h->jsonl_log_fd = h->jsonl_event_fd = -1;
  pthread_mutex_init(&h->jsonl_lock, NULL);
  return h;
}

void mw_host_free(mw_host_t *h) {
  if (!h) return;
  pthread_mutex_destroy(&h->jsonl_lock);
  if (h->secrets_free) h->secrets_free(h->secrets_ctx);
  if (h->kv_free) h->kv_free(h->kv_ctx);
  if (h->http_free) h->http_free(h->http_ctx);
  free(h);
}

void mw_host_set_secrets(mw_host_t *h, const mw_secrets_vtable_t *vt,
                         void *ctx, void (*free_ctx)(void *)) {
  if (!h) return;
  if (h->secrets_free) h->secrets_free(h->secrets_ctx);
  h->secrets = vt ? *vt : (mw_secrets_vtable_t){0};
  h->secrets_ctx = ctx;
  h->secrets_free = free_ctx;
}

void mw_host_set_kv(mw_host_t *h, const mw_kv_vtable_t *vt, void *ctx,
                    void (*free_ctx)(void *)) {
  if (!h) return;
  if (h->kv_free) h->kv_free(h->kv_ctx);
  h->kv = vt ? *vt : (mw_kv_vtable_t){0};
  h->kv_ctx = ctx;
  h->kv_free = free_ctx;
}

void mw_host_set_http(mw_host_t *h, const mw_http_vtable_t *vt, void *ctx,
                      void (*free_ctx)(void *)) {
  if (!h) return;
  if (h->http_free) h->http_free(h->http_ctx);
  h->http = vt ? *vt : (mw_http_vtable_t){0};
  h->http_ctx = ctx;
  h->http_free = free_ctx;
}

void mw_host_set_log_sink(mw_host_t *h, mw_log_sink_fn fn, void *ctx) {
  if (!h) return;
  h->log_sink = fn;
  h->log_ctx = ctx;
}

void mw_host_set_event_sink(mw_host_t *h, mw_event_sink_fn fn, void *ctx) {
  if (!h) return;
  h->event_sink = fn;
  h->event_ctx = ctx;
}

/* ---- JSON lines --------------------------------------------------------- */

static void rfc3339_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One write per line, under a lock, so lines from threads never mix. */
static void write_line(mw_host_t *h, int fd, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  if (!s) return;
  size_t n = strlen(s);
  s[n] = '\n';
  pthread_mutex_lock(&h->jsonl_lock);
  for (size_t off = 0; off < n + 1;) {
    ssize_t w = write(fd, s + off, n + 1 - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break; /* a sink that fails must not fail the execution */
    off += (size_t)w;
  }
  pthread_mutex_unlock(&h->jsonl_lock);
  free(s);
}

static void jsonl_log(void *ctx, const char *node_id, const char *exec_id,
                      mw_log_level_t level, mw_log_source_t source,
                      const char *msg, size_t len) {
  mw_host_t *h = ctx;
  char ts[32];
  rfc3339_now(ts);
  write_line(h, h->jsonl_log_fd,
             json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s%}", "type", "log",
                       "time", ts, "node_id", node_id, "execution_id", exec_id,
                       "level", mw__log_level_name(level), "source",
                       mw__log_source_name(source), "message", msg, len));
}

static void jsonl_event(void *ctx, const char *node_id, const char *exec_id,
                        const char *type, const char *payload, size_t len) {
  mw_host_t *h = ctx;
  char ts[32];
  rfc3339_now(ts);
  write_line(h, h->jsonl_event_fd,
             json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%}", "type", "event",
                       "time", ts, "node_id", node_id, "execution_id", exec_id,
                       "event_type", type, "payload", payload, len));
}

void mw_host_set_jsonl_sink(mw_host_t *h, int log_fd, int event_fd) {
  if (!h) return;
  h->jsonl_log_fd = log_fd;
  h->jsonl_event_fd = event_fd;
  mw_host_set_log_sink(h, log_fd >= 0 ? jsonl_log : NULL, h);
  mw_host_set_event_sink(h, event_fd >= 0 ? jsonl_event : NULL, h);
}
