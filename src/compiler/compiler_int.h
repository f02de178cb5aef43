/*
 * compiler_int.h - internals of the compiler service: the language table
 * and the content-addressed cache.
 */
#ifndef MW_COMPILER_COMPILER_INT_H
#define MW_COMPILER_COMPILER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm/compiler.h"

/* What the driver knows of a language. TypeScript shares JavaScript's
 * wrapper and toolchain; compile.sh tells them apart by the extension. */
typedef struct mw__language_info {
  mw_language_t lang;
  const char *name;          /* "python" */
  const char *guest_subdir;  /* guest/<this>/compile.sh */
  const char *toolchain_subdir; /* <toolchains root>/<this> */
  const char *toolchain_env; /* the variable compile.sh reads */
  const char *ext;           /* ".py": the user file is node<ext> */
} mw__language_info_t;

/* NULL for an unknown language. */
const mw__language_info_t *mw__language_info(mw_language_t lang);

/* ---- cache.c: components by key, in <dir>/<key[0:2]>/<key>.wasm with a
 * .sha256 beside it. Entries are written atomically; an entry whose bytes
 * do not match its hash is a miss (and is overwritten by the next put). */

/* *out (malloc'd), its SHA-256 and true on a hit; false on a miss. */
bool mw__cache_get(const char *dir, const char *key, uint8_t **out, size_t *len,
                   char sha256_hex[65]);
mw_error_t *mw__cache_put(const char *dir, const char *key, const uint8_t *wasm,
                          size_t len, const char *sha256_hex);

/* Takes the key's lock (flock on <dir>/locks/<key>, so it holds across
 * threads and processes); *fd is released by mw__cache_unlock. */
mw_error_t *mw__cache_lock(const char *dir, const char *key, int *fd);
void mw__cache_unlock(int fd);

#endif
