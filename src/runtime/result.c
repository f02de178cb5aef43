/*
 * result.c - mw_result_t: outcome, items, accounting, logs and events of one
 * execution, and its JSON form. Logs and events are recorded here as they
 * arrive, within the permissions' caps; what goes over a cap is counted,
 * not kept.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_int.h"
#include "util/base64.h"

const char *mw_trap_kind_name(mw_trap_kind_t kind) {
  switch (kind) {
#define MW__TRAP_NAME(e, name) \
  case e:                      \
    return name;
    MW_TRAP_LIST(MW__TRAP_NAME)
#undef MW__TRAP_NAME
  }
  return "unknown";
}

mw_result_t *mw__result_new(void) { return calloc(1, sizeof(mw_result_t)); }

void mw_result_free(mw_result_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_items; i++) {
    free(r->items[i].json);
    free(r->items[i].binary);
  }
  free(r->items);
  for (size_t i = 0; i < r->n_logs; i++) free(r->logs[i].message);
  free(r->logs);
  for (size_t i = 0; i < r->n_events; i++) {
    free(r->events[i].type);
    free(r->events[i].payload);
  }
  free(r->events);
  free(r->message);
  free(r);
}

mw_outcome_t mw_result_outcome(const mw_result_t *r) { return r->outcome; }
size_t mw_result_item_count(const mw_result_t *r) { return r->n_items; }

const char *mw_result_item_json(const mw_result_t *r, size_t i,
                                size_t *out_len) {
  if (i >= r->n_items) return NULL;
  if (out_len) *out_len = r->items[i].json_len;
  return r->items[i].json;
}

const uint8_t *mw_result_item_binary(const mw_result_t *r, size_t i,
                                     size_t *out_len) {
  if (i >= r->n_items) return NULL;
  if (out_len) *out_len = r->items[i].binary_len;
  return r->items[i].binary;
}

const char *mw_result_message(const mw_result_t *r) {
  return r->message ? r->message : "";
}
mw_trap_kind_t mw_result_trap_kind(const mw_result_t *r) { return r->trap; }
void mw_result_stats(const mw_result_t *r, mw_stats_t *out) { *out = r->stats; }
size_t mw_result_log_count(const mw_result_t *r) { return r->n_logs; }

const char *mw_result_log(const mw_result_t *r, size_t i,
                          mw_log_level_t *out_level,
                          mw_log_source_t *out_source) {
  if (i >= r->n_logs) return NULL;
  if (out_level) *out_level = r->logs[i].level;
  if (out_source) *out_source = r->logs[i].source;
  return r->logs[i].message;
}

size_t mw_result_event_count(const mw_result_t *r) { return r->n_events; }

const char *mw_result_event(const mw_result_t *r, size_t i,
                            const char **out_payload) {
  if (i >= r->n_events) return NULL;
  if (out_payload) *out_payload = r->events[i].payload;
  return r->events[i].type;
}

/* ---- names --------------------------------------------------------------- */

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const source_names[] = {"console", "stdout", "stderr",
                                           "host"};

const char *mw__log_level_name(mw_log_level_t level) {
  return (unsigned)level < 4 ? level_names[level] : "info";
}

const char *mw__log_source_name(mw_log_source_t source) {
  return (unsigned)source < 4 ? source_names[source] : "host";
}

bool mw__log_level_parse(const char *s, size_t n, mw_log_level_t *out) {
  for (int i = 0; i < 4; i++)
    if (n == strlen(level_names[i]) && memcmp(s, level_names[i], n) == 0) {
      *out = (mw_log_level_t)i;
      return true;
    }
  return false;
}

/* ---- recording ---------------------------------------------------------- */

void mw__exec_log(mw_exec_t *ex, mw_log_level_t level, mw_log_source_t source,
                  const char *msg, size_t len) {
  mw_result_t *r = ex->result;
  uint64_t max = mw_permissions_limit(ex->perms, MW_LIMIT_MAX_LOG_BYTES);
  if (len > max || ex->log_bytes > max - len) {
    r->stats.logs_dropped++;
    return;
  }
  if (r->n_logs == r->cap_logs) {
    size_t cap = r->cap_logs ? r->cap_logs * 2 : 16;
    mw_log_t *v = realloc(r->logs, cap * sizeof *v);
    if (!v) {
      r->stats.logs_dropped++;
      return;
    }
    r->logs = v;
    r->cap_logs = cap;
  }
  char *m = mw__redact(ex, msg, len, NULL);
  if (!m) {
    r->stats.logs_dropped++;
    return;
  }
  ex->log_bytes += len;
  r->logs[r->n_logs++] = (mw_log_t){level, source, m};
  const mw_host_t *h = ex->host;
  if (h && h->log_sink)
    h->log_sink(h->log_ctx, ex->req->node_id, ex->req->execution_id, level,
                source, m, strlen(m));
}

void mw__exec_event(mw_exec_t *ex, const char *type, size_t type_len,
                    const char *payload, size_t payload_len) {
  mw_result_t *r = ex->result;
  uint64_t max = mw_permissions_limit(ex->perms, MW_LIMIT_MAX_EVENTS);
  /* Events count against the log byte budget too, so a few huge payloads
   * cannot exhaust host memory. */
  uint64_t bmax = mw_permissions_limit(ex->perms, MW_LIMIT_MAX_LOG_BYTES);
  size_t bytes = type_len + payload_len;
  if (r->n_events >= max || bytes > bmax || ex->log_bytes > bmax - bytes) {
    r->stats.events_dropped++;
    return;
  }
  if (r->n_events == r->cap_events) {
    size_t cap = r->cap_events ? r->cap_events * 2 : 16;
    mw_event_t *v = realloc(r->events, cap * sizeof *v);
    if (!v) {
      r->stats.events_dropped++;
      return;
    }
    r->events = v;
    r->cap_events = cap;
  }
  char *t = mw__redact(ex, type, type_len, NULL);
  char *p = mw__redact(ex, payload, payload_len, NULL);
  if (!t || !p) {
    free(t);
    free(p);
    r->stats.events_dropped++;
    return;
  }
  ex->log_bytes += bytes;
  r->events[r->n_events++] = (mw_event_t){t, p};
  const mw_host_t *h = ex->host;
  if (h && h->event_sink)
    h->event_sink(h->event_ctx, ex->req->node_id, ex->req->execution_id, t, p,
                  strlen(p));
}

/* ---- JSON --------------------------------------------------------------- */


static json_t *items_json(const mw_result_t *r) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < r->n_items; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "json", json_stringn(r->items[i].json,
                                                r->items[i].json_len));
    if (r->items[i].binary) {
      char *b64 = mw__base64_encode(r->items[i].binary, r->items[i].binary_len);
      json_object_set_new(o, "binary", b64 ? json_string(b64) : json_null());
      free(b64);
    }
    json_array_append_new(a, o);
  }
  return a;
}

char *mw_result_to_json(const mw_result_t *r, unsigned flags) {
  json_t *doc = json_object();
  if (!doc) return NULL;
  switch (r->outcome) {
    case MW_OUTCOME_OK:
      json_object_set_new(doc, "ok", items_json(r));
      break;
    case MW_OUTCOME_ERR:
      json_object_set_new(doc, "err", json_string(mw_result_message(r)));
      break;
    case MW_OUTCOME_TRAP:
      json_object_set_new(doc, "trap",
                          json_pack("{s:s, s:s}", "kind",
                                    mw_trap_kind_name(r->trap), "message",
                                    mw_result_message(r)));
      break;
  }
  if (flags & MW_JSON_STATS) {
    const mw_stats_t *s = &r->stats;
    json_object_set_new(
        doc, "stats",
        json_pack("{s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "fuel_used",
                  (json_int_t)s->fuel_used, "wall_time_ms",
                  (double)s->wall_time_us / 1000.0, "memory_peak_bytes",
                  (json_int_t)s->memory_peak_bytes, "host_calls",
                  (json_int_t)s->host_calls, "denied_calls",
                  (json_int_t)s->denied_calls, "bytes_in",
                  (json_int_t)s->bytes_in, "bytes_out",
                  (json_int_t)s->bytes_out, "logs_dropped",
                  (json_int_t)s->logs_dropped, "events_dropped",
                  (json_int_t)s->events_dropped));
  }
  if (flags & MW_JSON_LOGS) {
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_logs; i++)
      json_array_append_new(
          a, json_pack("{s:s, s:s, s:s}", "level",
                       mw__log_level_name(r->logs[i].level), "source",
                       mw__log_source_name(r->logs[i].source), "message",
                       r->logs[i].message));
    json_object_set_new(doc, "logs", a);
  }
  if (flags & MW_JSON_EVENTS) {
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_events; i++)
      json_array_append_new(a, json_pack("{s:s, s:s}", "type",
                                         r->events[i].type, "payload",
                                         r->events[i].payload));
    json_object_set_new(doc, "events", a);
  }
  char *s = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(doc);
  return s;
}
