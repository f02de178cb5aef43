/*
 * result.c - mw_result_t: outcome, items, accounting, logs and events of one
 * execution, and its JSON form. Logs and events are recorded here as they
 * arrive, within the permissions' caps; what goes over a cap is counted,
 * not kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_int.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/json_out.h"

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


/* Written straight into a buffer (util/json_out.h), not through a jansson
 * tree: this runs once per API execution and a tree of the items cost
 * about 11 us per KiB of output. */

static bool items_out(mw_buf_t *b, const mw_result_t *r) {
  if (!mw__buf_append(b, "[", 1)) return false;
  for (size_t i = 0; i < r->n_items; i++) {
    const mw_item_t *it = &r->items[i];
    if ((i && !mw__buf_append(b, ",", 1)) || !mw__buf_append(b, "{", 1) ||
        !mw__json_key(b, "json") || !mw__json_string(b, it->json, it->json_len))
      return false;
    if (it->binary) {
      char *b64 = mw__base64_encode(it->binary, it->binary_len);
      bool ok = b64 && mw__buf_append(b, ",", 1) && mw__json_key(b, "binary") &&
                mw__json_string(b, b64, strlen(b64));
      free(b64);
      if (!ok) return false;
    }
    if (!mw__buf_append(b, "}", 1)) return false;
  }
  return mw__buf_append(b, "]", 1);
}

static bool str_field(mw_buf_t *b, const char *key, const char *v, bool comma) {
  return (!comma || mw__buf_append(b, ",", 1)) && mw__json_key(b, key) &&
         mw__json_string(b, v ? v : "", v ? strlen(v) : 0);
}

static bool stats_out(mw_buf_t *b, const mw_stats_t *s) {
  char ms[32];
  snprintf(ms, sizeof ms, "%.3f", (double)s->wall_time_us / 1000.0);
  const struct {
    const char *key;
    uint64_t v;
  } f[] = {{"memory_peak_bytes", s->memory_peak_bytes},
           {"host_calls", s->host_calls},
           {"denied_calls", s->denied_calls},
           {"bytes_in", s->bytes_in},
           {"bytes_out", s->bytes_out},
           {"logs_dropped", s->logs_dropped},
           {"events_dropped", s->events_dropped}};
  if (!mw__buf_puts(b, ",\"stats\":{") || !mw__json_key(b, "fuel_used") ||
      !mw__json_u64(b, s->fuel_used) || !mw__buf_puts(b, ",") ||
      !mw__json_key(b, "wall_time_ms") || !mw__buf_puts(b, ms))
    return false;
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (!mw__buf_append(b, ",", 1) || !mw__json_key(b, f[i].key) ||
        !mw__json_u64(b, f[i].v))
      return false;
  return mw__buf_append(b, "}", 1);
}

static bool result_out(mw_buf_t *b, const mw_result_t *r, unsigned flags) {
  bool ok = mw__buf_append(b, "{", 1);
  switch (r->outcome) {
    case MW_OUTCOME_OK:
      ok = ok && mw__json_key(b, "ok") && items_out(b, r);
      break;
    case MW_OUTCOME_ERR:
      ok = ok && str_field(b, "err", mw_result_message(r), false);
      break;
    case MW_OUTCOME_TRAP:
      ok = ok && mw__json_key(b, "trap") && mw__buf_append(b, "{", 1) &&
           str_field(b, "kind", mw_trap_kind_name(r->trap), false) &&
           str_field(b, "message", mw_result_message(r), true) &&
           mw__buf_append(b, "}", 1);
      break;
  }
  if (ok && (flags & MW_JSON_STATS)) ok = stats_out(b, &r->stats);
  if (ok && (flags & MW_JSON_LOGS)) {
    ok = mw__buf_puts(b, ",\"logs\":[");
    for (size_t i = 0; ok && i < r->n_logs; i++)
      ok = (!i || mw__buf_append(b, ",", 1)) && mw__buf_append(b, "{", 1) &&
           str_field(b, "level", mw__log_level_name(r->logs[i].level), false) &&
           str_field(b, "source", mw__log_source_name(r->logs[i].source), true) &&
           str_field(b, "message", r->logs[i].message, true) &&
           mw__buf_append(b, "}", 1);
    ok = ok && mw__buf_append(b, "]", 1);
  }
  if (ok && (flags & MW_JSON_EVENTS)) {
    ok = mw__buf_puts(b, ",\"events\":[");
    for (size_t i = 0; ok && i < r->n_events; i++)
      ok = (!i || mw__buf_append(b, ",", 1)) && mw__buf_append(b, "{", 1) &&
           str_field(b, "type", r->events[i].type, false) &&
           str_field(b, "payload", r->events[i].payload, true) &&
           mw__buf_append(b, "}", 1);
    ok = ok && mw__buf_append(b, "]", 1);
  }
  return ok && mw__buf_append(b, "}", 1);
}

char *mw_result_to_json(const mw_result_t *r, unsigned flags) {
  if (!r) return NULL;
  mw_buf_t b;
  mw__buf_init(&b, SIZE_MAX);
  if (!result_out(&b, r, flags)) {
    mw__buf_free(&b);
    return NULL;
  }
  return mw__buf_take(&b, NULL);
}
