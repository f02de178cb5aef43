/*
 * marie_wasm/storage.h - artifact storage: where compiled components live.
 *
 * A store maps keys ("wasm/nodes/<node_id>/<sha256[:24]>.wasm", the layout
 * of the original service) to bytes. Backends swap behind one interface:
 * a local directory today (the default), S3 next. Reads can be checked
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

/* Opens a store: a directory path, or "file:///abs/dir". The directory is
 * created (mode 0700) if missing. Errors: MW_ERR_INPUT (bad location),
 * MW_ERR_IO. */
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
 * found"), MW_ERR_ARTIFACT. */
MW_API mw_error_t *mw_store_get(mw_store_t *store, const char *key,
                                const char *expect_sha256, uint8_t **out,
                                size_t *out_len);

/* Lowercase hex SHA-256 of data into out (65 bytes with the NUL). */
MW_API void mw_sha256_hex(const uint8_t *data, size_t len, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
