/*
 * h_execute.c - POST /v1/execute: one execution, read top-down.
 *
 * request JSON -> mw_request_t and permissions (timeout capped by the
 * server; the secrets as the request's own) -> the component from the
 * registry -> an execution slot -> mw_execute -> the result document
 * (mw_result_to_json) with the component_id in front.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static const char *const fields[] = {"component_id", "key",         "input",   "config",
                                     "context",      "permissions", "secrets", NULL};

/* Shapes the library does not check itself; true when fine. */
static bool check_shapes(json_t *doc, srv_reply_t *out) {
  json_t *id = json_object_get(doc, "component_id"), *key = json_object_get(doc, "key");
  json_t *v;
  if (!id == !key) {
    srv_reply_error(out, 400, "bad_request", "give exactly one of component_id and key");
    return false;
  }
  if ((id && !json_is_string(id)) || (key && !json_is_string(key))) {
    srv_reply_error(out, 400, "bad_request", "%s: expected a string",
                    id ? "component_id" : "key");
    return false;
  }
  if ((v = json_object_get(doc, "input")) && !json_is_array(v)) {
    srv_reply_error(out, 400, "bad_request", "input: expected an array of items "
                    "{\"json\": \"<JSON text>\", \"binary\": \"<base64>\"}");
    return false;
  }
  static const char *const objects[] = {"context", "permissions", "secrets"};
  for (int i = 0; i < 3; i++) {
    if ((v = json_object_get(doc, objects[i])) && !json_is_object(v)) {
      srv_reply_error(out, 400, "bad_request", "%s: expected an object", objects[i]);
      return false;
    }
  }
  /* Secrets become C strings; a NUL cannot reach them: the body parser
   * refuses \u0000. */
  const char *name;
  json_object_foreach(json_object_get(doc, "secrets"), name, v) {
    if (!json_is_string(v)) {
      srv_reply_error(out, 400, "bad_request", "secrets.%.100s: expected a string", name);
      return false;
    }
  }
  return true;
}

/* True when every item is {"json": "<text>"} alone: those are added as
 * they are. Anything else (binary parts, wrong shapes) goes through
 * mw_request_set_items_json, which decodes and names what is wrong. */
static bool plain_items(json_t *input) {
  size_t i;
  json_t *item;
  json_array_foreach(input, i, item) {
    if (!json_is_object(item) || json_object_size(item) != 1 ||
        !json_is_string(json_object_get(item, "json")))
      return false;
  }
  return true;
}

/* Fills req and *perms from the document; an error names the field. */
static mw_error_t *build_request(server_t *s, json_t *doc, mw_request_t *req,
                                 mw_permissions_t **perms) {
  mw_error_t *err = NULL;
  json_t *v;
  char *text = NULL;
  if ((v = json_object_get(doc, "input"))) {
    if (plain_items(v)) {
      size_t i;
      json_t *item;
      json_array_foreach(v, i, item) {
        json_t *j = json_object_get(item, "json");
        if ((err = mw_request_add_item(req, json_string_value(j),
                                       json_string_length(j), NULL, 0)))
          return err;
      }
    } else {
      if (!(text = json_dumps(v, JSON_COMPACT))) goto nomem;
      err = mw_request_set_items_json(req, text, strlen(text));
      free(text);
      if (err) return err;
    }
  }
  const char *name;
  json_object_foreach(json_object_get(doc, "secrets"), name, v) {
    if ((err = mw_request_add_secret(req, name, json_string_value(v)))) return err;
  }
  /* config: a string is the node's env.vars as is; other JSON its text. */
  if ((v = json_object_get(doc, "config")) && !json_is_null(v)) {
    if (json_is_string(v)) {
      err = mw_request_set_env(req, json_string_value(v), json_string_length(v));
    } else {
      if (!(text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY))) goto nomem;
      err = mw_request_set_env(req, text, strlen(text));
      free(text);
    }
    if (err) return err;
  }
  if ((v = json_object_get(doc, "context"))) {
    if (!(text = json_dumps(v, JSON_COMPACT))) goto nomem;
    err = mw_request_set_context_json(req, text, strlen(text));
    free(text);
    if (err) return err;
  }
  if ((v = json_object_get(doc, "permissions"))) {
    if (!(text = json_dumps(v, JSON_COMPACT))) goto nomem;
    err = mw_permissions_from_json(text, strlen(text), perms);
    free(text);
    if (err) return err;
  } else if (!(*perms = mw_permissions_new())) {
    goto nomem;
  }
  /* The server's deadline bounds every execution, whatever was asked. */
  if (mw_permissions_limit(*perms, MW_LIMIT_TIMEOUT_MS) > s->cfg.max_timeout_ms &&
      (err = mw_permissions_set_limit(*perms, MW_LIMIT_TIMEOUT_MS, s->cfg.max_timeout_ms)))
    return err;
  mw_request_set_permissions(req, *perms);
  mw_request_set_host(req, s->host);
  return NULL;
nomem:
  return mw_error_new(MW_ERR_NOMEM, "out of memory");
}

/* The result document with "component_id" first. */
static char *result_body(const mw_result_t *res, const char *sha, size_t *out_len) {
  char *doc = mw_result_to_json(res, MW_JSON_STATS | MW_JSON_LOGS | MW_JSON_EVENTS);
  if (!doc || doc[0] != '{') {
    free(doc);
    return NULL;
  }
  size_t n = strlen(doc), len = n + 64 + 20;
  char *body = malloc(len + 1);
  if (body) *out_len = (size_t)snprintf(body, len + 1, "{\"component_id\":\"%s\",%s", sha, doc + 1);
  free(doc);
  return body;
}

void srv_handle_execute(srv_req_t *r, srv_reply_t *out) {
  server_t *s = r->srv;
  mw_request_t *req = NULL;
  mw_permissions_t *perms = NULL;
  srv_component_t *comp = NULL;
  mw_result_t *res = NULL;
  mw_error_t *err = NULL;
  json_t *doc = srv_parse_body(r, out);
  if (!doc || !srv_check_keys(doc, fields, "request", out) || !check_shapes(doc, out))
    goto out;
  if ((err = mw_request_new(&req)) || (err = build_request(s, doc, req, &perms))) {
    srv_reply_mw_error(out, err, NULL);
    goto out;
  }
  const char *id = json_string_value(json_object_get(doc, "component_id"));
  const char *key = json_string_value(json_object_get(doc, "key"));
  if ((err = srv_registry_get(s->registry, id, key, &comp))) {
    srv_reply_mw_error(out, err, NULL);
    goto out;
  }
  memcpy(r->component_id, comp->sha256, sizeof r->component_id);

  if (!srv_slot_acquire(s, srv_now_ms() + s->cfg.max_timeout_ms)) {
    srv_reply_error(out, 503, "busy", "no execution slot became free in time");
    srv_reply_header(out, "Retry-After", "1");
    goto out;
  }
  atomic_fetch_add(&s->metrics.active_executions, 1);
  uint64_t start = srv_now_us();
  err = mw_execute(s->engine, comp->component, req, &res);
  uint64_t elapsed = srv_now_us() - start;
  atomic_fetch_sub(&s->metrics.active_executions, 1);
  srv_slot_release(s);
  srv_metrics_execution(&s->metrics, err ? NULL : res, elapsed);
  if (err) {
    srv_reply_mw_error(out, err, "execute");
    goto out;
  }
  switch (mw_result_outcome(res)) {
    case MW_OUTCOME_OK: r->outcome = "ok"; break;
    case MW_OUTCOME_ERR: r->outcome = "err"; break;
    case MW_OUTCOME_TRAP: r->outcome = mw_trap_kind_name(mw_result_trap_kind(res)); break;
  }
  size_t len = 0;
  char *body = result_body(res, comp->sha256, &len);
  if (!body) {
    srv_reply_error(out, 503, "out_of_memory", "out of memory");
    goto out;
  }
  out->status = 200;
  out->body = body;
  out->len = len;
  out->content_type = "application/json";
out:
  mw_result_free(res);
  srv_registry_release(s->registry, comp);
  mw_request_free(req);
  mw_permissions_free(perms);
  json_decref(doc);
}
