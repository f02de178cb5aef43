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
  /* Checks a URL against the execution's permissions (scheme, host, port):
   * backends that follow redirects must call it for every hop. */
  bool (*url_allowed)(void *ctx, const char *url);
  void *url_allowed_ctx;
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

/* ---- built-in HTTP: libcurl ---- */
typedef struct mw_http_options {
  /* Allow loopback, private, link-local and other non-public addresses.
   * Off by default: only for local testing. */
  bool allow_private_network;
  uint32_t max_redirects;      /* hops followed (each re-checked); default 5 */
  uint64_t connect_timeout_ms; /* default 10000 (and never past the deadline) */
  uint64_t max_response_bytes; /* body cap; default 8 MiB */
} mw_http_options_t;

/* Defaults as documented above. */
MW_API void mw_http_options_init(mw_http_options_t *opts);

/* HTTP through libcurl with SSRF defence: after DNS resolution the
 * addresses are checked (non-public ones refused unless
 * allow_private_network) and the connection is pinned to a checked address;
 * redirects are followed here, not by libcurl, each hop re-checked. opts
 * may be NULL (defaults); it is copied. */
MW_API mw_error_t *mw_host_use_curl_http(mw_host_t *host,
                                         const mw_http_options_t *opts);

/* ---- built-in key-value stores ---- */
/* Backend keys are "<kv_prefix>\x1f<key>": everything before the first
 * unit separator (0x1f) is the node's namespace, which quotas count. */
/* A field left 0 takes its default. Limits can only tighten what the kv
 * interface itself allows (keys of 512 bytes, values of 1 MiB). */
typedef struct mw_kv_limits {
  uint32_t max_key_bytes;        /* default 512 */
  uint32_t max_value_bytes;      /* default 1 MiB */
  uint64_t max_keys_per_prefix;  /* default 10000 */
  uint32_t timeout_ms;           /* network backends: per operation; 2000 */
} mw_kv_limits_t;

MW_API void mw_kv_limits_init(mw_kv_limits_t *limits);

/* A key-value backend chosen by URL:
 *   memory:                  in-process (the default of mw_host_use_memory_kv)
 *   sqlite:///path/to/kv.db  SQLite, WAL mode; a put that returned survives
 *                            a crash of the process
 *   redis://host:port/db     Redis (hiredis); reconnects after failures;
 *                            no AUTH, TLS or Cluster. A put that timed out
 *                            may still be applied by the server later.
 * TTL 0 deletes the key at once. SQLite paths must be absolute.
 * limits may be NULL (defaults); it is copied.
 * Errors: MW_ERR_INPUT (bad URL), MW_ERR_BACKEND (cannot open/connect). */
MW_API mw_error_t *mw_host_use_kv_url(mw_host_t *host, const char *url,
                                      const mw_kv_limits_t *limits);

/* ---- built-in secrets providers ---- */
/* Secrets from environment variables: with prefix "MW_SECRET_", the
 * variable MW_SECRET_API_KEY is the secret API_KEY. The variables are
 * copied when the provider is installed (thread-safe; install again to pick
 * up changes). Errors: MW_ERR_INPUT for an empty prefix, one with '=', or a
 * value that is not UTF-8. */
MW_API mw_error_t *mw_host_use_secrets_env(mw_host_t *host,
                                           const char *prefix);

/* Secrets from an encrypted file (AES-256-GCM; written with
 * mw_secrets_file_set), decrypted once at load. key is 32 bytes.
 * Errors: MW_ERR_IO, MW_ERR_INPUT (wrong key or corrupt file). */
MW_API mw_error_t *mw_host_use_secrets_file(mw_host_t *host,
                                            const char *path,
                                            const uint8_t key[32]);

/* The 32-byte key for encrypted secrets files from an environment variable
 * holding 64 hex digits or base64 of 32 bytes, or from a file holding the
 * same text. Errors: MW_ERR_INPUT naming the variable or file. */
MW_API mw_error_t *mw_secrets_key_from_env(const char *var, uint8_t out[32]);
MW_API mw_error_t *mw_secrets_key_from_file(const char *path, uint8_t out[32]);

/* Adds or replaces one secret in an encrypted file (created if missing,
 * written atomically). value NULL removes the name (MW_ERR_INPUT when it is
 * not there). */
MW_API mw_error_t *mw_secrets_file_set(const char *path,
                                       const uint8_t key[32],
                                       const char *name, const char *value);
/* The names in an encrypted file (never the values): a malloc'd array of
 * malloc'd strings; free with mw_strings_free. */
MW_API mw_error_t *mw_secrets_file_list(const char *path,
                                        const uint8_t key[32],
                                        char ***out_names, size_t *out_count);
MW_API void mw_strings_free(char **strings, size_t count);

/* ---- sinks ---- */
/* Streams log records to log_fd and events to event_fd as JSON lines (with
 * node_id, execution_id, an RFC 3339 timestamp, and level and source for
 * logs), one write per line. The descriptors stay the caller's; -1 turns
 * that stream off. Replaces the log and event sinks. Thread-safe. */
MW_API void mw_host_set_jsonl_sink(mw_host_t *host, int log_fd, int event_fd);

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
