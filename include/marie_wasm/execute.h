/*
 * marie_wasm/execute.h - running a component once.
 *
 * A request gathers the inputs of one execution (items, env vars, context,
 * permissions, host); mw_execute runs the component's `execute` export in a
 * fresh store with the request's limits and returns a result. The outcome is
 * one of: ok(items), the guest's err(message), or a trap with a kind.
 *
 * A request is used by one thread at a time; it may be executed repeatedly.
 * A result is immutable and owned by the caller.
 */
#ifndef MARIE_WASM_EXECUTE_H
#define MARIE_WASM_EXECUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "error.h"
#include "host.h"
#include "permissions.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_request mw_request_t;
typedef struct mw_result mw_result_t;

typedef enum mw_outcome {
  MW_OUTCOME_OK,   /* the guest returned ok(items) */
  MW_OUTCOME_ERR,  /* the guest returned err(message), or panicked: it
                      logged "panicked at ..." (error level, console) and
                      then reached `unreachable`, as the Rust SDK does */
  MW_OUTCOME_TRAP  /* the guest was stopped; see mw_result_trap_kind */
} mw_outcome_t;

/* X(enum, name used in JSON) */
#define MW_TRAP_LIST(X)                          \
  X(MW_TRAP_NONE, "none")                        \
  X(MW_TRAP_FUEL_EXHAUSTED, "fuel_exhausted")    \
  X(MW_TRAP_TIMEOUT, "timeout")                  \
  X(MW_TRAP_MEMORY_LIMIT, "memory_limit")        \
  X(MW_TRAP_STACK_OVERFLOW, "stack_overflow")    \
  X(MW_TRAP_OUTPUT_LIMIT, "output_limit")        \
  X(MW_TRAP_GUEST, "guest_trap")

typedef enum mw_trap_kind {
#define MW__TRAP_ENUM(e, name) e,
  MW_TRAP_LIST(MW__TRAP_ENUM)
#undef MW__TRAP_ENUM
} mw_trap_kind_t;

/* "fuel_exhausted" etc. Static. */
MW_API const char *mw_trap_kind_name(mw_trap_kind_t kind);

/* ---- request ------------------------------------------------------------ */
/* An empty request: no items, env "", context with generated ids, default
 * (deny-all) permissions, a host without backends. */
MW_API mw_error_t *mw_request_new(mw_request_t **out);
MW_API void mw_request_free(mw_request_t *req);

/* Appends an item; json and binary are copied. binary may be NULL (none). */
MW_API mw_error_t *mw_request_add_item(mw_request_t *req, const char *json,
                                       size_t json_len, const uint8_t *binary,
                                       size_t binary_len);
/* Replaces the items with a JSON array of {"json": "<text>", "binary":
 * "<base64>"?}. Errors: MW_ERR_INPUT naming the element and field. */
MW_API mw_error_t *mw_request_set_items_json(mw_request_t *req,
                                             const char *json, size_t len);
/* Replaces the items with those packed in buf, one foreign call for all of
 * them (for language bindings). Per item, in order: the JSON text's length
 * and the binary's length as little-endian uint32 (MW_PACKED_NONE: no
 * binary), then the JSON bytes, then the binary bytes. Copied. Errors:
 * MW_ERR_INPUT naming the item when buf ends early, MW_ERR_LIMIT for more
 * than 1,000,000 items; the items are then unchanged. */
#define MW_PACKED_NONE 0xFFFFFFFFu
MW_API mw_error_t *mw_request_set_items_packed(mw_request_t *req,
                                               const void *buf, size_t len);
/* env.vars: the node's configuration text (usually JSON). Copied. */
MW_API mw_error_t *mw_request_set_env(mw_request_t *req, const char *vars,
                                      size_t len);
MW_API mw_error_t *mw_request_set_context(mw_request_t *req,
                                          const char *workflow_id,
                                          const char *execution_id,
                                          const char *node_id,
                                          uint32_t run_index);
/* A JSON object with workflow_id, execution_id, node_id (strings) and
 * run_index (integer); missing fields keep their values. */
MW_API mw_error_t *mw_request_set_context_json(mw_request_t *req,
                                               const char *json, size_t len);
/* A secret for this request only (name and value copied; the copy is wiped
 * when the request is freed). The guest's secrets.get of a name the
 * permissions allow looks here first, then asks the host's provider.
 * Errors: MW_ERR_INPUT for an empty name or one given twice. */
MW_API mw_error_t *mw_request_add_secret(mw_request_t *req, const char *name,
                                         const char *value);
/* Borrowed: perms and host must outlive every mw_execute of this request. */
MW_API void mw_request_set_permissions(mw_request_t *req,
                                       const mw_permissions_t *perms);
MW_API void mw_request_set_host(mw_request_t *req, const mw_host_t *host);

/* ---- execute ------------------------------------------------------------ */
/* Runs c with req. A guest err or trap is a successful call (check
 * mw_result_outcome); an error is returned only when the execution could not
 * be attempted: MW_ERR_MISUSE, MW_ERR_COMPONENT (component did not fit the
 * world), MW_ERR_NOMEM, MW_ERR_ENGINE. Thread-safe for distinct requests. */
MW_API mw_error_t *mw_execute(mw_engine_t *engine, const mw_component_t *c,
                              const mw_request_t *req, mw_result_t **out);

/* ---- result ------------------------------------------------------------- */
MW_API void mw_result_free(mw_result_t *r);
MW_API mw_outcome_t mw_result_outcome(const mw_result_t *r);

/* ok: the items. Pointers are owned by r. binary is NULL when absent. */
MW_API size_t mw_result_item_count(const mw_result_t *r);
MW_API const char *mw_result_item_json(const mw_result_t *r, size_t i,
                                       size_t *out_len);
MW_API const uint8_t *mw_result_item_binary(const mw_result_t *r, size_t i,
                                            size_t *out_len);

/* err: the guest's message; trap: Wasmtime's or the limit's message. */
MW_API const char *mw_result_message(const mw_result_t *r);
MW_API mw_trap_kind_t mw_result_trap_kind(const mw_result_t *r);

/* Accounting. */
typedef struct mw_stats {
  uint64_t fuel_used;
  uint64_t wall_time_us;
  uint64_t memory_peak_bytes;
  uint64_t host_calls;
  uint64_t denied_calls; /* host calls refused by the permissions */
  uint64_t bytes_in;  /* items + env passed to the guest */
  uint64_t bytes_out; /* response bytes returned by the guest */
  uint64_t logs_dropped;
  uint64_t events_dropped;
} mw_stats_t;
MW_API void mw_result_stats(const mw_result_t *r, mw_stats_t *out);

/* Collected logs and events (within the permissions' caps). */
MW_API size_t mw_result_log_count(const mw_result_t *r);
MW_API const char *mw_result_log(const mw_result_t *r, size_t i,
                                 mw_log_level_t *out_level,
                                 mw_log_source_t *out_source);
MW_API size_t mw_result_event_count(const mw_result_t *r);
MW_API const char *mw_result_event(const mw_result_t *r, size_t i,
                                   const char **out_payload);

/* The result as one JSON document: {"ok": [{"json": "...", "binary":
 * "<base64>"?}...]} | {"err": "..."} | {"trap": {"kind", "message"}}, plus
 * "stats", "logs" and "events" when the flags ask for them. malloc'd; the
 * caller frees it with free(). NULL when out of memory. */
#define MW_JSON_STATS 1u
#define MW_JSON_LOGS 2u
#define MW_JSON_EVENTS 4u
MW_API char *mw_result_to_json(const mw_result_t *r, unsigned flags);

/* The whole result in one buffer, read with one foreign call (for language
 * bindings). Integers are little-endian u32 unless marked u64:
 *   outcome, trap kind, the nine u64 of mw_stats_t in their order, item
 *   count, log count, event count, message length, the message bytes;
 *   per item: JSON length, binary length (MW_PACKED_NONE: none), JSON, binary;
 *   per log: level, source, length, text;
 *   per event: type length, payload length, type, payload.
 * malloc'd; the caller frees it with free(). *out_len gets its size. NULL
 * when out of memory. */
MW_API void *mw_result_pack(const mw_result_t *r, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
