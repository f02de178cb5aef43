/*
 * marie_wasm/permissions.h - what one execution may do.
 *
 * Deny by default: a new permissions object grants no capability, and an
 * empty allow-list grants nothing. Limits have safe defaults (64 MiB memory,
 * 1e9 fuel, 30 s). Field names follow the original Python API. A permissions
 * object is immutable once handed to an execution and may be shared between
 * threads for reading.
 */
#ifndef MARIE_WASM_PERMISSIONS_H
#define MARIE_WASM_PERMISSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_permissions mw_permissions_t;

/* All capabilities denied, default limits. NULL when out of memory. */
MW_API mw_permissions_t *mw_permissions_new(void);
MW_API void mw_permissions_free(mw_permissions_t *p);

/* Parses a JSON object with the fields
 *   allow_http, http_allowed_hosts, allow_secrets, secret_allowed_names,
 *   allow_kv, kv_prefix, max_memory_mb, max_fuel, timeout_ms,
 *   max_output_items, max_output_bytes, max_log_bytes, max_events,
 *   max_http_requests
 * Missing fields keep their defaults. An unknown field, a wrong type or an
 * out-of-range value is MW_ERR_INPUT with a message naming the field. */
MW_API mw_error_t *mw_permissions_from_json(const char *json, size_t len,
                                            mw_permissions_t **out);

/* The permissions as a JSON object (malloc'd; caller frees with free()). */
MW_API char *mw_permissions_to_json(const mw_permissions_t *p);

/* Setters. Strings are copied. Errors: MW_ERR_MISUSE, MW_ERR_NOMEM. */
MW_API void mw_permissions_allow_http(mw_permissions_t *p, bool on);
MW_API mw_error_t *mw_permissions_add_http_host(mw_permissions_t *p,
                                                const char *host);
MW_API void mw_permissions_allow_secrets(mw_permissions_t *p, bool on);
MW_API mw_error_t *mw_permissions_add_secret_name(mw_permissions_t *p,
                                                  const char *name);
MW_API void mw_permissions_allow_kv(mw_permissions_t *p, bool on);
MW_API mw_error_t *mw_permissions_set_kv_prefix(mw_permissions_t *p,
                                                const char *prefix);

typedef enum mw_limit {
  MW_LIMIT_MAX_MEMORY_MB,     /* linear memory of all the node's memories */
  MW_LIMIT_MAX_FUEL,          /* wasm instructions, roughly */
  MW_LIMIT_TIMEOUT_MS,        /* wall clock, including host calls */
  MW_LIMIT_MAX_OUTPUT_ITEMS,  /* items in an ok response */
  MW_LIMIT_MAX_OUTPUT_BYTES,  /* json + binary bytes of an ok/err response */
  MW_LIMIT_MAX_LOG_BYTES,     /* console + stdout/stderr bytes kept */
  MW_LIMIT_MAX_EVENTS,        /* events kept */
  MW_LIMIT_MAX_HTTP_REQUESTS  /* http-client calls allowed */
} mw_limit_t;

/* Sets a limit. Zero is refused for memory, fuel and timeout (MW_ERR_MISUSE);
 * the others accept zero ("none allowed"). */
MW_API mw_error_t *mw_permissions_set_limit(mw_permissions_t *p,
                                            mw_limit_t which, uint64_t value);
MW_API uint64_t mw_permissions_limit(const mw_permissions_t *p,
                                     mw_limit_t which);

/* Checks, as the host does them. mw_permissions_http_host_allowed takes a
 * bare host name (no scheme or port); matching is case-insensitive and
 * ignores one trailing dot. */
MW_API bool mw_permissions_http_host_allowed(const mw_permissions_t *p,
                                             const char *host);
MW_API bool mw_permissions_secret_allowed(const mw_permissions_t *p,
                                          const char *name);
MW_API bool mw_permissions_kv_allowed(const mw_permissions_t *p);
MW_API const char *mw_permissions_kv_prefix(const mw_permissions_t *p);

#ifdef __cplusplus
}
#endif
#endif
