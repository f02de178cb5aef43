/*
 * file.h - whole-file reads with a size cap and atomic, durable writes.
 */
#ifndef MW_UTIL_FILE_H
#define MW_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm/error.h"

/* Reads path into *out (malloc'd, NUL-terminated). Files over max bytes are
 * refused. Errors: MW_ERR_IO naming the path. */
mw_error_t *mw__read_file(const char *path, size_t max, uint8_t **out,
                          size_t *out_len);

/* Writes data to path through a temporary file in the same directory,
 * fsync and rename (then fsync of the directory), so readers see the old
 * or the new content, never a mix, and a crash loses neither. */
mw_error_t *mw__write_file_atomic(const char *path, const uint8_t *data,
                                  size_t len, unsigned mode);

/* A file vouched for by the SHA-256 of its bytes, in lowercase hex, in a
 * second file (sum_path). Writing puts the data first and the sum last, so
 * a crash in between leaves a file that fails its check, never a wrong one.
 * Reading returns true only when both are there and agree; *out (malloc'd)
 * and sha256_hex are then set. Used by caches: a failed check is a miss. */
mw_error_t *mw__write_file_summed(const char *path, const char *sum_path,
                                  const uint8_t *data, size_t len,
                                  const char sha256_hex[65]);
bool mw__read_file_summed(const char *path, const char *sum_path, size_t max,
                          uint8_t **out, size_t *len, char sha256_hex[65]);

/* rm -rf path: symlinks are removed, not followed, and other filesystems
 * mounted inside are not entered. A missing path is not an error. */
mw_error_t *mw__remove_tree(const char *path);

/* Copies the regular files and directories under src into dst (created;
 * files keep only their executable bit), skipping dot files, symlinks,
 * node_modules and target. Not atomic. */
mw_error_t *mw__copy_tree(const char *src, const char *dst);

/* mkdir -p with mode for each created component. */
mw_error_t *mw__make_dirs(const char *path, unsigned mode);

#endif
