/*
 * store_int.h - the storage backend interface. mw_store_t dispatches to a
 * backend through this vtable; each backend lives in its own file.
 */
#ifndef MW_STORAGE_STORE_INT_H
#define MW_STORAGE_STORE_INT_H

#include "marie_wasm/storage.h"

typedef struct mw_store_vtable {
  mw_error_t *(*put)(void *ctx, const char *key, const uint8_t *data,
                     size_t len);
  mw_error_t *(*get)(void *ctx, const char *key, uint8_t **out, size_t *len);
  void (*free)(void *ctx);
} mw_store_vtable_t;

struct mw_store {
  const mw_store_vtable_t *vt;
  void *ctx;
};

/* Backends. */
mw_error_t *mw__store_local_open(const char *dir, mw_store_t *store);
/* spec: "bucket" or "bucket/prefix" (the location without "s3://"); the
 * rest of the configuration comes from the environment (storage.h). */
mw_error_t *mw__store_s3_open(const char *spec, mw_store_t *store);

#endif
