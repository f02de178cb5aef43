/*
 * marie_wasm/host.h - the backends behind the host interfaces.
 *
 * A guest's calls to http-client, secrets, kv, console and events are first
 * checked against the execution's permissions (permissions.h); only allowed
 * calls reach a backend. Backends are vtables the embedder supplies, plus
 * built-in ones. A mw_host_t bundles them and is shared by executions; it
 * is thread-safe when its backends are (the built-in ones are).
 *
 * Memory rule for backends: buffers a backend returns through out_*
 * parameters are malloc'd by the backend and freed by the library with
 * free(); inputs are borrowed for the call.
 */
#ifndef MARIE_WASM_HOST_H
#define MARIE_WASM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_host mw_host_t;

/* ---- secrets ----------------------------------------------------------- */
typedef struct mw_secrets_vtable {
  /* Sets *out_value to a malloc'd NUL-terminated value, or NULL if the
   * secret does not exist. Only called for names the permissions allow. */
  mw_error_t *(*get)(void *ctx, const char *name, char **out_value);
} mw_secrets_vtable_t;

/* ---- key-value ---------------------------------------------------------- */
/* Keys reach the backend with the node's kv_prefix already applied. */
typedef struct mw_kv_vtable {
  mw_error_t *(*get)(void *ctx, const char *key, size_t key_len,
                     uint8_t **out_value, size_t *out_len, bool *out_found);
  /* ttl_seconds < 0: no expiry. */
  mw_error_t *(*put)(void *ctx, const char *key, size_t key_len,
                     const uint8_t *value, size_t len, int64_t ttl_seconds);
  mw_error_t *(*del)(void *ctx, const char *key, size_t key_len);
} mw_kv_vtable_t;

/* ---- http --------------------------------------------------------------- */
typedef struct mw_http_header {
  char *name;
  char *value;
} mw_http_header_t;

typedef struct mw_http_request {
  const char *method;
  const char *url;
  const mw_http_header_t *headers;
  size_t header_count;
  const uint8_t *body; /* NULL when the request has no body */
  size_t body_len;
  uint64_t timeout_ms; /* what is left of the execution's time */
  uint64_t max_response_bytes;
} mw_http_request_t;

typedef struct mw_http_response {
  uint16_t status;
  mw_http_header_t *headers; /* malloc'd array of malloc'd strings */
  size_t header_count;
  uint8_t *body; /* malloc'd */
  size_t body_len;
} mw_http_response_t;

typedef struct mw_http_vtable {
  /* Performs req. The URL's host has passed the allow-list. Fills *out
   * (zeroed on entry) or returns an error that the guest sees as err. */
  mw_error_t *(*fetch)(void *ctx, const mw_http_request_t *req,
                       mw_http_response_t *out);
} mw_http_vtable_t;

/* ---- console and events -------------------------------------------------- */
typedef enum mw_log_level {
  MW_LOG_DEBUG,
  MW_LOG_INFO,
  MW_LOG_WARN,
  MW_LOG_ERROR
} mw_log_level_t;

/* Where a log line came from. */
typedef enum mw_log_source {
  MW_LOG_CONSOLE, /* marie:node/console */
  MW_LOG_STDOUT,  /* guest stdout, one record per line */
  MW_LOG_STDERR,  /* guest stderr, one record per line */
  MW_LOG_HOST     /* the runtime: denied calls, dropped records */
} mw_log_source_t;

/* Streaming sinks, called on the executing thread as records arrive (before
 * the execution ends), in addition to collecting them in the result. */
typedef void (*mw_log_sink_fn)(void *ctx, const char *node_id,
                               const char *execution_id, mw_log_level_t level,
                               mw_log_source_t source, const char *message,
                               size_t len);
typedef void (*mw_event_sink_fn)(void *ctx, const char *node_id,
                                 const char *execution_id, const char *type,
                                 const char *payload, size_t payload_len);

/* ---- the host bundle --------------------------------------------------- */
/* A host with no backends: secrets are absent, kv and http calls fail with
 * err "backend not configured". NULL when out of memory. */
MW_API mw_host_t *mw_host_new(void);

/* Frees the host and, through the free_ctx callbacks given, the backends'
 * contexts. No execution may be using it. */
MW_API void mw_host_free(mw_host_t *host);

/* Install backends. vt is copied; ctx is owned by the host from now on and
 * released with free_ctx (may be NULL) when replaced or when the host is
 * freed. */
MW_API void mw_host_set_secrets(mw_host_t *host, const mw_secrets_vtable_t *vt,
                                void *ctx, void (*free_ctx)(void *));
MW_API void mw_host_set_kv(mw_host_t *host, const mw_kv_vtable_t *vt,
                           void *ctx, void (*free_ctx)(void *));
MW_API void mw_host_set_http(mw_host_t *host, const mw_http_vtable_t *vt,
                             void *ctx, void (*free_ctx)(void *));
MW_API void mw_host_set_log_sink(mw_host_t *host, mw_log_sink_fn fn,
                                 void *ctx);
MW_API void mw_host_set_event_sink(mw_host_t *host, mw_event_sink_fn fn,
                                   void *ctx);

/* Built-in backends. */

/* Secrets from a JSON object {"NAME": "value", ...} (copied).
 * Errors: MW_ERR_INPUT naming the bad entry, MW_ERR_NOMEM. */
MW_API mw_error_t *mw_host_use_secrets_json(mw_host_t *host, const char *json,
                                            size_t len);
/* An in-memory key-value store with TTLs, private to this host. */
MW_API mw_error_t *mw_host_use_memory_kv(mw_host_t *host);

#ifdef __cplusplus
}
#endif
#endif
