/*
 * local.c - the local-directory store backend: a key is a path under the
 * store's directory (store.c has already refused keys that could leave it).
 * Writes are atomic and durable (util/file.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/store_int.h"
#include "util/error_int.h"
#include "util/file.h"

#define MAX_ARTIFACT_BYTES ((size_t)1 << 30)

typedef struct local {
  char *dir;
} local_t;

static char *path_of(const local_t *l, const char *key) {
  size_t n = strlen(l->dir) + 1 + strlen(key) + 1;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", l->dir, key);
  return p;
}

static mw_error_t *local_put(void *ctx, const char *key, const uint8_t *data,
                             size_t len) {
  char *path = path_of(ctx, key);
  if (!path) return mw__nomem();
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mw_error_t *err = mw__make_dirs(path, 0700);
  *slash = '/';
  if (!err) err = mw__write_file_atomic(path, data, len, 0600);
  free(path);
  return err;
}

static mw_error_t *local_get(void *ctx, const char *key, uint8_t **out,
                             size_t *len) {
  char *path = path_of(ctx, key);
  if (!path) return mw__nomem();
  mw_error_t *err = mw__read_file(path, MAX_ARTIFACT_BYTES, out, len);
  free(path);
  return err;
}

static void local_free(void *ctx) {
  local_t *l = ctx;
  free(l->dir);
  free(l);
}

static const mw_store_vtable_t local_vtable = {local_put, local_get,
                                               local_free};

mw_error_t *mw__store_local_open(const char *dir, mw_store_t *store) {
  mw_error_t *err = mw__make_dirs(dir, 0700);
  if (err) return err;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return mw_error_new(MW_ERR_IO, "store '%s': not a directory", dir);
  local_t *l = calloc(1, sizeof *l);
  if (!l || !(l->dir = strdup(dir))) {
    free(l);
    return mw__nomem();
  }
  size_t n = strlen(l->dir);
  while (n > 1 && l->dir[n - 1] == '/') l->dir[--n] = '\0';
  store->vt = &local_vtable;
  store->ctx = l;
  return NULL;
}
