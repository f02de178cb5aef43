/*
 * permissions_json.c - permissions as JSON, with the original Python API's
 * field names. Parsing is strict: an unknown field (a typo such as
 * "alow_http" would otherwise silently deny or, worse, silently grant), a
 * wrong type or a value out of range is an error naming the field.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/permissions_int.h"
#include "util/error_int.h"

static const char *const limit_fields[MW__LIMIT_COUNT] = {
    [MW_LIMIT_MAX_MEMORY_MB] = "max_memory_mb",
    [MW_LIMIT_MAX_FUEL] = "max_fuel",
    [MW_LIMIT_TIMEOUT_MS] = "timeout_ms",
    [MW_LIMIT_MAX_OUTPUT_ITEMS] = "max_output_items",
    [MW_LIMIT_MAX_OUTPUT_BYTES] = "max_output_bytes",
    [MW_LIMIT_MAX_LOG_BYTES] = "max_log_bytes",
    [MW_LIMIT_MAX_EVENTS] = "max_events",
    [MW_LIMIT_MAX_HTTP_REQUESTS] = "max_http_requests",
};

static const char *const known_fields =
    "allow_http, http_allowed_hosts, allow_secrets, secret_allowed_names, "
    "allow_kv, kv_prefix, max_memory_mb, max_fuel, timeout_ms, "
    "max_output_items, max_output_bytes, max_log_bytes, max_events, "
    "max_http_requests";

static mw_error_t *want_bool(const char *k, json_t *v, bool *out) {
  if (!json_is_boolean(v))
    return mw_error_new(MW_ERR_INPUT, "permissions: '%s' must be true or false",
                        k);
  *out = json_is_true(v);
  return NULL;
}

static mw_error_t *each_string(const char *k, json_t *v, mw_permissions_t *p,
                               mw_error_t *(*add)(mw_permissions_t *,
                                                  const char *)) {
  if (!json_is_array(v))
    return mw_error_new(MW_ERR_INPUT,
                        "permissions: '%s' must be a list of strings", k);
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) {
    if (!json_is_string(s))
      return mw_error_new(MW_ERR_INPUT, "permissions: %s[%zu] must be a string",
                          k, i);
    mw_error_t *err = add(p, json_string_value(s));
    if (err) return mw__error_prefix(err, "permissions: %s[%zu]", k, i);
  }
  return NULL;
}

static mw_error_t *apply_field(mw_permissions_t *p, const char *k, json_t *v) {
  if (!strcmp(k, "allow_http")) return want_bool(k, v, &p->allow_http);
  if (!strcmp(k, "allow_secrets")) return want_bool(k, v, &p->allow_secrets);
  if (!strcmp(k, "allow_kv")) return want_bool(k, v, &p->allow_kv);
  if (!strcmp(k, "http_allowed_hosts"))
    return each_string(k, v, p, mw_permissions_add_http_host);
  if (!strcmp(k, "secret_allowed_names"))
    return each_string(k, v, p, mw_permissions_add_secret_name);
  if (!strcmp(k, "kv_prefix")) {
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
      return mw_error_new(MW_ERR_INPUT, "permissions: 'kv_prefix' must be a string");
    return mw__error_prefix(mw_permissions_set_kv_prefix(p, json_string_value(v)),
                            "permissions");
  }
  for (int i = 0; i < MW__LIMIT_COUNT; i++) {
    if (strcmp(k, limit_fields[i]) != 0) continue;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
      return mw_error_new(MW_ERR_INPUT,
                          "permissions: '%s' must be a non-negative integer", k);
    return mw__error_prefix(
        mw_permissions_set_limit(p, (mw_limit_t)i,
                                 (uint64_t)json_integer_value(v)),
        "permissions");
  }
  return mw_error_new(MW_ERR_INPUT,
                      "permissions: unknown field '%s' (known fields: %s)", k,
                      known_fields);
}

mw_error_t *mw_permissions_from_json(const char *json, size_t len,
                                     mw_permissions_t **out) {
  if (!json || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  json_error_t je;
  json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!o)
    return mw_error_new(MW_ERR_INPUT, "permissions: line %d column %d: %s",
                        je.line, je.column, je.text);
  mw_error_t *err = NULL;
  mw_permissions_t *p = NULL;
  if (!json_is_object(o)) {
    err = mw_error_new(MW_ERR_INPUT, "permissions: expected a JSON object");
    goto out;
  }
  if (!(p = mw_permissions_new())) {
    err = mw__nomem();
    goto out;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if ((err = apply_field(p, k, v))) goto out;
  }
  *out = p;
  p = NULL;
out:
  mw_permissions_free(p);
  json_decref(o);
  return err;
}

static json_t *host_rule_json(const mw_host_rule_t *r) {
  char port[8] = "";
  if (r->port) snprintf(port, sizeof port, ":%u", r->port);
  /* Hosts are at most 253 bytes and schemes 5 (checked at parse time). */
  char buf[5 + 3 + 2 + 253 + sizeof port + 1];
  int n = snprintf(buf, sizeof buf, "%s%s%s%s%s", r->scheme ? r->scheme : "",
                   r->scheme ? "://" : "", r->wildcard ? "*." : "", r->host,
                   port);
  return n >= 0 && (size_t)n < sizeof buf ? json_string(buf) : NULL;
}

char *mw_permissions_to_json(const mw_permissions_t *p) {
  if (!p) return NULL;
  json_t *hosts = json_array(), *names = json_array();
  for (size_t i = 0; i < p->n_hosts; i++)
    json_array_append_new(hosts, host_rule_json(&p->hosts[i]));
  for (size_t i = 0; i < p->n_secrets; i++)
    json_array_append_new(names, json_string(p->secret_names[i]));
  json_t *o = json_pack("{s:b, s:o, s:b, s:o, s:b, s:s}", "allow_http",
                        p->allow_http, "http_allowed_hosts", hosts,
                        "allow_secrets", p->allow_secrets,
                        "secret_allowed_names", names, "allow_kv", p->allow_kv,
                        "kv_prefix", mw_permissions_kv_prefix(p));
  for (int i = 0; o && i < MW__LIMIT_COUNT; i++)
    json_object_set_new(o, limit_fields[i], json_integer((json_int_t)p->limits[i]));
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}
