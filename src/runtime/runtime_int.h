/*
 * runtime_int.h - the runtime's internal types, shared by engine.c,
 * component.c, request.c, result.c, execute.c and the host interfaces.
 */
#ifndef MW_RUNTIME_INT_H
#define MW_RUNTIME_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <wasmtime.h>

#include "marie_wasm.h"
#include "runtime/limiter.h"
#include "util/buf.h"

struct mw_engine_config {
  char *cache_dir;
  bool pooling;
  uint32_t pool_instances;
  uint32_t pool_table_elements;
  uint32_t max_memory_mb;
  uint32_t tick_ms;
  uint64_t max_wasm_stack;
};

struct mw_engine {
  wasm_engine_t *wasm;
  wasmtime_component_linker_t *linker; /* WASI p2 + marie:node, per engine */
  char *cache_dir;                     /* NULL: no compilation cache */
  uint32_t tick_ms;
  bool pooling;
  /* The pool's hard caps per memory and per table (0 without the pool):
   * executions never let their limiter allow more, so that reaching them
   * is reported as memory_limit, not as a plain guest trap. */
  uint64_t pool_memory_bytes;
  uint32_t pool_table_elements;
  pthread_t ticker;
  pthread_mutex_t ticker_lock;
  pthread_cond_t ticker_cond;
  bool ticker_stop;
};

struct mw_component {
  wasmtime_component_t *wc;
  wasmtime_component_export_index_t *execute; /* NULL if it does not fit */
  char *problems; /* why it does not fit the world; NULL when it fits */
  unsigned caps;
  char sha256[65];
  mw_engine_t *engine;
};

typedef struct mw_item {
  char *json;
  size_t json_len;
  uint8_t *binary; /* NULL: none */
  size_t binary_len;
} mw_item_t;

struct mw_request {
  mw_item_t *items;
  size_t n_items;
  /* mw_request_set_items_packed copies all items into one block: the
   * first n_block_items items point into it, the others own their bytes. */
  char *items_block;
  size_t n_block_items;
  char *env;
  size_t env_len;
  char *workflow_id, *execution_id, *node_id;
  uint32_t run_index;
  const mw_permissions_t *perms; /* borrowed; NULL: defaults */
  const mw_host_t *host;         /* borrowed; NULL: no backends */
  char **secret_names, **secret_values; /* mw_request_add_secret */
  size_t n_secrets;
};

/* The request's own value of secret name, or NULL (request.c). */
const char *mw__request_secret(const mw_request_t *r, const char *name);

typedef struct mw_log {
  mw_log_level_t level;
  mw_log_source_t source;
  char *message;
} mw_log_t;

typedef struct mw_event {
  char *type;
  char *payload;
} mw_event_t;

struct mw_result {
  mw_outcome_t outcome;
  mw_trap_kind_t trap;
  char *message;
  mw_item_t *items;
  size_t n_items;
  mw_stats_t stats;
  mw_log_t *logs;
  size_t n_logs, cap_logs;
  mw_event_t *events;
  size_t n_events, cap_events;
};

/* Per-execution state, reached from host calls through the store's data. */
typedef struct mw_exec {
  const mw_request_t *req;
  const mw_permissions_t *perms;
  const mw_host_t *host;
  mw_result_t *result;
  mw_limiter_t limiter;
  uint64_t deadline_ns; /* CLOCK_MONOTONIC */
  uint64_t log_bytes;
  uint64_t http_requests;
  mw_buf_t out_line, err_line; /* partial stdout/stderr lines */
  char **secrets_read;          /* values handed to the guest: redacted */
  size_t n_secrets_read;
} mw_exec_t;

/* host.c */
struct mw_host {
  mw_secrets_vtable_t secrets;
  void *secrets_ctx;
  void (*secrets_free)(void *);
  mw_kv_vtable_t kv;
  void *kv_ctx;
  void (*kv_free)(void *);
  mw_http_vtable_t http;
  void *http_ctx;
  void (*http_free)(void *);
  mw_log_sink_fn log_sink;
  void *log_ctx;
  mw_event_sink_fn event_sink;
  void *event_ctx;
  int jsonl_log_fd, jsonl_event_fd; /* mw_host_set_jsonl_sink */
  pthread_mutex_t jsonl_lock;
};

/* Defines the marie:node interfaces in linker (host/interfaces.c). */
mw_error_t *mw__define_host_interfaces(wasmtime_component_linker_t *linker);

/* Records a log line / event in the execution, within its caps, and streams
 * it to the host's sinks (result.c). */
void mw__exec_log(mw_exec_t *ex, mw_log_level_t level, mw_log_source_t source,
                  const char *msg, size_t len);
void mw__exec_event(mw_exec_t *ex, const char *type, size_t type_len,
                    const char *payload, size_t payload_len);

/* Remembers a secret value the guest read, so that the host never writes
 * it into logs, events or messages (redact.c). */
void mw__exec_note_secret(mw_exec_t *ex, const char *value);
/* A malloc'd copy of s[0..len) with every remembered secret replaced by
 * "[REDACTED]"; NULL when out of memory. */
char *mw__redact(const mw_exec_t *ex, const char *s, size_t len,
                 size_t *out_len);
void mw__exec_forget_secrets(mw_exec_t *ex);

/* "info", "stdout", ...: the names used in JSON (result.c). */
const char *mw__log_level_name(mw_log_level_t level);
const char *mw__log_source_name(mw_log_source_t source);
/* The level named by the n bytes at s; false when unknown. */
bool mw__log_level_parse(const char *s, size_t n, mw_log_level_t *out);

/* Result construction (result.c). */
mw_result_t *mw__result_new(void);

/* An mw_error_t from a Wasmtime error, which is consumed. */
mw_error_t *mw__from_wasmtime(mw_status_t status, wasmtime_error_t *werr,
                              const char *what);
/* The message of a Wasmtime error as a malloc'd string. */
char *mw__wasmtime_message(const wasmtime_error_t *werr);

uint64_t mw__now_ns(void);

#endif
