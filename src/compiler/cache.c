/*
 * cache.c - the compiler's content-addressed component cache (see
 * compiler_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "compiler/compiler_int.h"
#include "marie_wasm/storage.h"
#include "util/error_int.h"
#include "util/file.h"

#define MAX_COMPONENT_BYTES (256u << 20)

static void entry_path(char *buf, size_t n, const char *dir, const char *key,
                       const char *suffix) {
  snprintf(buf, n, "%s/%.2s/%s%s", dir, key, key, suffix);
}

bool mw__cache_get(const char *dir, const char *key, uint8_t **out, size_t *len,
                   char sha256_hex[65]) {
  char path[4096], sum[4096];
  entry_path(path, sizeof path, dir, key, ".wasm");
  entry_path(sum, sizeof sum, dir, key, ".sha256");
  return mw__read_file_summed(path, sum, MAX_COMPONENT_BYTES, out, len, sha256_hex);
}

mw_error_t *mw__cache_put(const char *dir, const char *key, const uint8_t *wasm,
                          size_t len, const char *sha256_hex) {
  char path[4096], sum[4096];
  snprintf(path, sizeof path, "%s/%.2s", dir, key);
  mw_error_t *err = mw__make_dirs(path, 0700);
  entry_path(path, sizeof path, dir, key, ".wasm");
  entry_path(sum, sizeof sum, dir, key, ".sha256");
  if (!err) err = mw__write_file_summed(path, sum, wasm, len, sha256_hex);
  return mw__error_prefix(err, "compile cache");
}

mw_error_t *mw__cache_lock(const char *dir, const char *key, int *fd) {
  char path[4096];
  *fd = -1;
  snprintf(path, sizeof path, "%s/locks", dir);
  mw_error_t *err = mw__make_dirs(path, 0700);
  if (err) return mw__error_prefix(err, "compile cache");
  snprintf(path, sizeof path, "%s/locks/%s", dir, key);
  int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0)
    return mw_error_new(MW_ERR_IO, "compile cache: %s: %s", path, strerror(errno));
  while (flock(f, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    err = mw_error_new(MW_ERR_IO, "compile cache: lock %s: %s", path, strerror(errno));
    close(f);
    return err;
  }
  *fd = f;
  return NULL;
}

void mw__cache_unlock(int fd) {
  if (fd < 0) return;
  flock(fd, LOCK_UN);
  close(fd);
}
