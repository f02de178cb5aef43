/*
 * h_status.c - GET /healthz (liveness and readiness: 503 while draining)
 * and GET /metrics (Prometheus text).
 */
#include <stdlib.h>

#include "server/server.h"

void srv_handle_healthz(srv_req_t *r, srv_reply_t *out) {
  server_t *s = r->srv;
  bool draining = atomic_load(&s->draining);
  srv_reply_json(
      out, draining ? 503 : 200,
      json_pack("{s:s, s:s, s:s, s:I, s:i, s:b}", "status", draining ? "draining" : "ok",
                "version", mw_version(), "wasmtime", mw_wasmtime_version(),
                "active_executions",
                (json_int_t)atomic_load(&s->metrics.active_executions), "inflight_requests",
                (int)atomic_load(&s->admitted), "compiler", s->compiler != NULL));
}

void srv_handle_metrics(srv_req_t *r, srv_reply_t *out) {
  size_t len = 0;
  char *text = srv_metrics_render(&r->srv->metrics, atomic_load(&r->srv->admitted), &len);
  if (!text) {
    srv_reply_error(out, 503, "out_of_memory", "out of memory");
    return;
  }
  out->status = 200;
  out->body = text;
  out->len = len;
  out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
