/*
 * h_components.c - POST /v1/components (register a prebuilt .wasm) and
 * GET /v1/components/{id} (what a component is and what it may need).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"

static json_t *nullable(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *summary(const srv_component_t *c) {
  return json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:o}", "component_id", c->sha256, "key",
                   c->key, "cwasm_key", nullable(c->cwasm_key), "size",
                   (json_int_t)c->size, "node_id", nullable(c->node_id), "language",
                   nullable(c->language), "created_at", nullable(c->created_at));
}

void srv_handle_upload(srv_req_t *r, srv_reply_t *out) {
  server_t *s = r->srv;
  const char *ctype = srv_header(r, "Content-Type");
  if (!ctype || (strncasecmp(ctype, "application/wasm", 16) != 0 &&
                 strncasecmp(ctype, "application/octet-stream", 24) != 0)) {
    srv_reply_error(out, 415, "unsupported_media_type",
                    "send the .wasm bytes as application/wasm");
    return;
  }
  const char *node_id = srv_query(r, "node_id");
  const char *language = srv_query(r, "language");
  if (!node_id) {
    srv_reply_error(out, 400, "bad_request", "node_id: missing (?node_id=...)");
    return;
  }
  mw_language_t lang;
  if (language && !srv_parse_language(language, &lang, out)) return;
  srv_component_t *c = NULL;
  mw_error_t *err;
  if ((err = srv_registry_add(s->registry, (const uint8_t *)r->body, r->body_len, node_id,
                              language ? mw_language_name(lang) : NULL, &c))) {
    srv_reply_mw_error(out, err, NULL);
    return;
  }
  memcpy(r->component_id, c->sha256, sizeof r->component_id);
  char location[100];
  snprintf(location, sizeof location, "/v1/components/%s", c->sha256);
  srv_reply_json(out, 201, summary(c));
  srv_reply_header(out, "Location", location);
  srv_registry_release(s->registry, c);
}

/* The permissions that grant exactly the capabilities c imports; the
 * allow-lists stay for the operator to fill in. */
static json_t *least_permissions(const mw_component_t *c) {
  unsigned caps = mw_component_capabilities(c);
  json_t *p = json_pack("{s:b, s:b, s:b}", "allow_http", (caps & MW_CAP_HTTP) != 0,
                        "allow_secrets", (caps & MW_CAP_SECRETS) != 0, "allow_kv",
                        (caps & MW_CAP_KV) != 0);
  if (p && (caps & MW_CAP_HTTP)) json_object_set_new(p, "http_allowed_hosts", json_array());
  if (p && (caps & MW_CAP_SECRETS))
    json_object_set_new(p, "secret_allowed_names", json_array());
  return p;
}

void srv_handle_component(srv_req_t *r, srv_reply_t *out) {
  server_t *s = r->srv;
  if (!srv_is_sha256(r->id)) {
    srv_reply_error(out, 400, "bad_request",
                    "component id: expected 64 lowercase hex digits (a component_id)");
    return;
  }
  srv_component_t *c = NULL;
  char *text = NULL;
  mw_error_t *err = srv_registry_get(s->registry, r->id, NULL, &c);
  if (!err) err = mw_component_describe(c->component, &text);
  if (err) {
    srv_reply_mw_error(out, err, NULL);
    srv_registry_release(s->registry, c);
    return;
  }
  memcpy(r->component_id, c->sha256, sizeof r->component_id);
  json_t *desc = json_loads(text, 0, NULL), *doc = summary(c);
  free(text);
  if (desc && doc) {
    static const char *const keep[] = {"fits_world", "imports", "exports", "capabilities"};
    for (int i = 0; i < 4; i++)
      json_object_set(doc, keep[i], json_object_get(desc, keep[i]));
    json_object_set_new(doc, "least_permissions", least_permissions(c->component));
  }
  json_decref(desc);
  srv_registry_release(s->registry, c);
  srv_reply_json(out, 200, doc);
}
