/*
 * secrets_json.c - the built-in secrets backend: a name -> value map read
 * from a JSON object, immutable after loading (so thread-safe).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"
#include "util/error_int.h"

typedef struct secrets_map {
  json_t *obj;
} secrets_map_t;

static mw_error_t *map_get(void *ctx, const char *name, char **out) {
  secrets_map_t *m = ctx;
  json_t *v = json_object_get(m->obj, name);
  *out = NULL;
  if (v && !(*out = strdup(json_string_value(v)))) return mw__nomem();
  return NULL;
}

static void map_free(void *ctx) {
  secrets_map_t *m = ctx;
  json_decref(m->obj);
  free(m);
}

mw_error_t *mw_host_use_secrets_json(mw_host_t *host, const char *json,
                                     size_t len) {
  if (!host || !json) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  json_error_t je;
  json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!obj)
    return mw_error_new(MW_ERR_INPUT, "secrets: line %d column %d: %s",
                        je.line, je.column, je.text);
  if (!json_is_object(obj)) {
    json_decref(obj);
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: expected a JSON object of name: value");
  }
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (!json_is_string(v)) {
      json_decref(obj);
      return mw_error_new(MW_ERR_INPUT, "secrets: value of '%s' is not a string",
                          k);
    }
  }
  secrets_map_t *m = malloc(sizeof *m);
  if (!m) {
    json_decref(obj);
    return mw__nomem();
  }
  m->obj = obj;
  static const mw_secrets_vtable_t vt = {map_get};
  mw_host_set_secrets(host, &vt, m, map_free);
  return NULL;
}
