/*
 * marie_wasm/storage.h - artifact storage: where compiled components live.
 *
 * A store maps keys ("wasm/nodes/<node_id>/<sha256[:24]>.wasm", the layout
 * of the original service) to bytes. Backends swap behind one interface:
 * a local directory (the default) or an S3 bucket. Reads can be checked
 * against the SHA-256 the caller expects, so a corrupted or swapped
 * artifact is refused instead of run. A store is thread-safe.
 */
#ifndef MARIE_WASM_STORAGE_H
#define MARIE_WASM_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_store mw_store_t;

/* Opens a store at location:
 *   "/abs/dir", "rel/dir", "file:///abs/dir"  a local directory, created
 *       (mode 0700) if missing;
 *   "s3://bucket" or "s3://bucket/prefix"  objects "<prefix>/<key>" in an
 *       S3 bucket (the prefix is plain text, URL-encoded by the store).
 *       Configured from the environment when opened:
 *       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required),
 *       AWS_SESSION_TOKEN (optional), AWS_REGION or AWS_DEFAULT_REGION
 *       (default us-east-1), MW_S3_ENDPOINT (optional "http(s)://host:port"
 *       of an S3-compatible server, addressed path-style; default the AWS
 *       virtual-host endpoint over https), MW_S3_TIMEOUT_MS (optional time
 *       for one operation including its retries, default 300000). Nothing
 *       is contacted until the first put or get. Objects read are capped at
 *       256 MiB; connection errors, 5xx and throttling are retried (3
 *       attempts). Messages carry S3's status, Code and Message, never the
 *       secret key. libcurl's proxy variables (https_proxy, no_proxy) apply.
 * Errors: MW_ERR_INPUT (bad location or configuration), MW_ERR_IO. */
MW_API mw_error_t *mw_store_open(const char *location, mw_store_t **out);
MW_API void mw_store_free(mw_store_t *store);

/* The key of a node's artifact: "wasm/nodes/<node_id>/<sha256[:24]><ext>"
 * (ext ".wasm" or ".cwasm"). node_id: 1-128 bytes of [A-Za-z0-9._-], not
 * starting with '.'. malloc'd; caller frees with free().
 * Errors: MW_ERR_INPUT naming what is wrong. */
MW_API mw_error_t *mw_store_node_key(const char *node_id,
                                     const char *sha256_hex, const char *ext,
                                     char **out_key);

/* Stores data under key, atomically (readers see the old or the new bytes,
 * never a mix) and durably. Keys are relative paths of [A-Za-z0-9._-/]
 * segments without "." or ".." segments. Errors: MW_ERR_INPUT, MW_ERR_IO. */
MW_API mw_error_t *mw_store_put(mw_store_t *store, const char *key,
                                const uint8_t *data, size_t len);

/* Reads key into *out (malloc'd; caller frees). With expect_sha256 (64 hex
 * digits), the bytes must hash to it, else MW_ERR_ARTIFACT and nothing is
 * returned. Errors: MW_ERR_INPUT, MW_ERR_IO (missing: message says "not
 * found"; an unreachable or refusing backend says why), MW_ERR_ARTIFACT. */
MW_API mw_error_t *mw_store_get(mw_store_t *store, const char *key,
                                const char *expect_sha256, uint8_t **out,
                                size_t *out_len);

/* Lowercase hex SHA-256 of data into out (65 bytes with the NUL). */
MW_API void mw_sha256_hex(const uint8_t *data, size_t len, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
