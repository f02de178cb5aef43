/*
 * jsonbody.c - request bodies as JSON: nesting depth checked before the
 * parser runs (a deep document costs the parser stack and time), duplicate
 * keys refused, unknown keys named.
 */
#include <stdio.h>
#include <string.h>

#include "server/server.h"

/* The deepest nesting of [ and { in text, outside strings; stops counting
 * once past limit. */
static unsigned json_depth(const char *text, size_t len, unsigned limit) {
  unsigned depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth) {
      depth--;
    }
  }
  return deepest;
}

json_t *srv_parse_body(const srv_req_t *r, srv_reply_t *out) {
  if (r->body_len == 0) {
    srv_reply_error(out, 400, "bad_request", "expected a JSON object body");
    return NULL;
  }
  if (json_depth(r->body, r->body_len, SRV_MAX_JSON_DEPTH) > SRV_MAX_JSON_DEPTH) {
    srv_reply_error(out, 400, "bad_request", "JSON nested deeper than %d levels",
                    SRV_MAX_JSON_DEPTH);
    return NULL;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc) {
    srv_reply_error(out, 400, "bad_request", "invalid JSON at line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(doc)) {
    json_decref(doc);
    srv_reply_error(out, 400, "bad_request", "expected a JSON object body");
    return NULL;
  }
  return doc;
}

bool srv_check_keys(json_t *obj, const char *const *allowed, const char *what,
                    srv_reply_t *out) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool known = false;
    for (const char *const *a = allowed; *a && !known; a++) known = !strcmp(key, *a);
    if (!known) {
      srv_reply_error(out, 400, "bad_request", "%s: unknown field '%.100s'", what, key);
      return false;
    }
  }
  return true;
}

bool srv_is_sha256(const char *s) {
  if (!s || strlen(s) != 64) return false;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

bool srv_parse_language(const char *name, mw_language_t *out_lang, srv_reply_t *out) {
  /* The API takes exact lowercase names (docs/openapi.yaml), not the
   * file extensions and case variants the CLI accepts. */
  static const char *const names[] = {"python", "py", "javascript", "js", "typescript",
                                      "ts",     "rust", "rs", "c", NULL};
  for (const char *const *n = names; *n; n++) {
    if (strcmp(name, *n) == 0) {
      mw_error_t *err = mw_language_parse(name, out_lang);
      if (!err) return true;
      srv_reply_mw_error(out, err, "language");
      return false;
    }
  }
  srv_reply_error(out, 400, "bad_request", "language '%.40s': expected one of python, "
                  "javascript, typescript, rust, c (or py, js, ts, rs)", name);
  return false;
}
