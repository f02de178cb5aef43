/*
 * h_compile.c - POST /v1/compile: a user's function -> a component in the
 * store, through the sandboxed, content-cached compiler service. A compile
 * error is the client's (422) and carries the diagnostics on the user's own
 * lines.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static const char *const fields[] = {"language", "code", "node_id", "file_name", NULL};

/* text split into its non-empty lines, as a JSON array. */
static json_t *lines(const char *text) {
  json_t *a = json_array();
  for (const char *p = text; a && p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    char *line = n ? strndup(p, n) : NULL;
    if (line) {
      srv_utf8_clean(line); /* toolchains may echo the user's bytes */
      json_array_append_new(a, json_string(line));
      free(line);
    }
    p = nl ? nl + 1 : NULL;
  }
  return a;
}

static const char *string_field(json_t *doc, const char *name, bool required,
                                srv_reply_t *out) {
  json_t *v = json_object_get(doc, name);
  if ((!v && !required) || json_is_string(v)) return v ? json_string_value(v) : "";
  srv_reply_error(out, 400, "bad_request", "%s: %s", name,
                  v ? "expected a string" : "missing");
  return NULL;
}

void srv_handle_compile(srv_req_t *r, srv_reply_t *out) {
  server_t *s = r->srv;
  mw_compile_result_t *res = NULL;
  srv_component_t *comp = NULL;
  mw_error_t *err = NULL;
  json_t *doc = srv_parse_body(r, out);
  if (!doc || !srv_check_keys(doc, fields, "request", out)) goto out;
  const char *lang_name, *code, *node_id, *file_name;
  if (!(lang_name = string_field(doc, "language", true, out)) ||
      !(code = string_field(doc, "code", true, out)) ||
      !(node_id = string_field(doc, "node_id", true, out)) ||
      !(file_name = string_field(doc, "file_name", false, out)))
    goto out;
  mw_language_t lang;
  if (!srv_parse_language(lang_name, &lang, out)) goto out;
  char *key = NULL; /* node_id checked before the slow part */
  err = mw_store_node_key(node_id, "000000000000000000000000", ".wasm", &key);
  free(key);
  if (err) {
    srv_reply_mw_error(out, err, NULL);
    goto out;
  }
  if (!s->compiler) {
    srv_reply_error(out, 503, "compiler_unavailable", "compiling is not available on "
                    "this server: %s", s->compiler_problem ? s->compiler_problem : "");
    goto out;
  }
  err = mw_compile(s->compiler, lang, code, json_string_length(json_object_get(doc, "code")),
                   *file_name ? file_name : NULL, NULL, NULL, &res);
  if (err && mw_error_status(err) == MW_ERR_COMPILE) {
    atomic_fetch_add(&s->metrics.compile_errors, 1);
    r->outcome = "compile_error";
    srv_reply_json(out, 422, json_pack("{s:{s:s, s:s}, s:o}", "error", "code",
                                       "compile_error", "message",
                                       "the code does not compile", "diagnostics",
                                       lines(mw_error_message(err))));
    mw_error_free(err);
    goto out;
  }
  if (err) {
    srv_reply_mw_error(out, err, "compile");
    goto out;
  }
  bool cached = mw_compile_result_cached(res);
  atomic_fetch_add(cached ? &s->metrics.compile_hits : &s->metrics.compile_misses, 1);
  size_t len = 0;
  const uint8_t *wasm = mw_compile_result_wasm(res, &len);
  if ((err = srv_registry_add(s->registry, wasm, len, node_id, mw_language_name(lang),
                              &comp))) {
    srv_reply_mw_error(out, err, "store");
    goto out;
  }
  memcpy(r->component_id, comp->sha256, sizeof r->component_id);
  r->outcome = cached ? "cached" : "compiled";
  srv_reply_json(out, 200,
                 json_pack("{s:s, s:s, s:s, s:I, s:b, s:s, s:s, s:I, s:o}", "component_id",
                           comp->sha256, "key", comp->key, "cwasm_key", comp->cwasm_key,
                           "size", (json_int_t)len, "cached", cached, "language",
                           mw_language_name(lang), "node_id", node_id, "compile_ms",
                           (json_int_t)mw_compile_result_ms(res), "diagnostics",
                           lines(mw_compile_result_warnings(res))));
out:
  srv_registry_release(s->registry, comp);
  mw_compile_result_free(res);
  json_decref(doc);
}
