/*
 * host.c - mw_host_t: the bundle of backends and sinks executions use.
 */
#include <stdlib.h>

#include "host/host_int.h"

mw_host_t *mw_host_new(void) { return calloc(1, sizeof(mw_host_t)); }

void mw_host_free(mw_host_t *h) {
  if (!h) return;
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
