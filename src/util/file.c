/*
 * file.c - file helpers (see file.h).
 */
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marie_wasm/storage.h" /* mw_sha256_hex */
#include "util/buf.h"
#include "util/error_int.h"

mw_error_t *mw__read_file(const char *path, size_t max, uint8_t **out,
                          size_t *out_len) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return mw_error_new(MW_ERR_IO, "%s: %s", path,
                        errno == ENOENT ? "not found" : strerror(errno));
  mw_buf_t b;
  mw__buf_init(&b, max);
  char chunk[65536];
  size_t n;
  mw_error_t *err = NULL;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (!mw__buf_append(&b, chunk, n)) {
      err = mw_error_new(MW_ERR_IO, "%s: larger than %zu bytes", path, max);
      break;
    }
  if (!err && ferror(f)) err = mw_error_new(MW_ERR_IO, "%s: read error", path);
  fclose(f);
  if (err) {
    mw__buf_free(&b);
    return err;
  }
  *out = (uint8_t *)mw__buf_take(&b, out_len);
  return *out ? NULL : mw__nomem();
}

static void sync_dir_of(const char *path) {
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

/* Numbers the temporary files of this process: threads writing the same
 * path at once must not share one (each would truncate and rename the
 * other's half-written file). */
static atomic_ulong tmp_seq;

mw_error_t *mw__write_file_atomic(const char *path, const uint8_t *data,
                                  size_t len, unsigned mode) {
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 48);
  if (!tmp) return mw__nomem();
  snprintf(tmp, pl + 48, "%s.tmp.%ld.%lu", path, (long)getpid(),
           atomic_fetch_add(&tmp_seq, 1));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  mw_error_t *err = NULL;
  if (fd < 0) {
    err = mw_error_new(MW_ERR_IO, "%s: %s", tmp, strerror(errno));
    goto out;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = mw_error_new(MW_ERR_IO, "%s: %s", tmp,
                         w < 0 ? strerror(errno) : "short write");
      break;
    }
    off += (size_t)w;
  }
  if (!err && fsync(fd) != 0)
    err = mw_error_new(MW_ERR_IO, "%s: %s", tmp, strerror(errno));
  close(fd);
  if (!err && rename(tmp, path) != 0)
    err = mw_error_new(MW_ERR_IO, "%s: %s", path, strerror(errno));
  if (err)
    unlink(tmp);
  else
    sync_dir_of(path);
out:
  free(tmp);
  return err;
}

mw_error_t *mw__make_dirs(const char *path, unsigned mode) {
  char *p = strdup(path);
  if (!p) return mw__nomem();
  mw_error_t *err = NULL;
  for (char *c = p + 1;; c++) {
    if (*c == '/' || *c == '\0') {
      char saved = *c;
      *c = '\0';
      if (mkdir(p, mode) != 0 && errno != EEXIST) {
        err = mw_error_new(MW_ERR_IO, "%s: %s", p, strerror(errno));
        break;
      }
      *c = saved;
      if (!saved) break;
    }
  }
  free(p);
  return err;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

mw_error_t *mw__remove_tree(const char *path) {
  /* FTW_PHYS: symlinks are removed, never followed out of the tree. */
  if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 &&
      errno != ENOENT)
    return mw_error_new(MW_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
  return NULL;
}

mw_error_t *mw__copy_tree(const char *src, const char *dst) {
  DIR *d = opendir(src);
  if (!d) return mw_error_new(MW_ERR_IO, "%s: %s", src, strerror(errno));
  mw_error_t *err = NULL;
  if (mkdir(dst, 0755) != 0 && errno != EEXIST)
    err = mw_error_new(MW_ERR_IO, "%s: %s", dst, strerror(errno));
  struct dirent *e;
  while (!err && (e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules") ||
        !strcmp(e->d_name, "target"))
      continue;
    char from[4096], to[4096];
    struct stat st;
    if ((size_t)snprintf(from, sizeof from, "%s/%s", src, e->d_name) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s/%s", dst, e->d_name) >= sizeof to) {
      err = mw_error_new(MW_ERR_IO, "%s: path too long", src);
      break;
    }
    if (lstat(from, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      err = mw__copy_tree(from, to);
    } else if (S_ISREG(st.st_mode)) {
      int in = open(from, O_RDONLY | O_CLOEXEC);
      int out = in < 0 ? -1
                       : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                              (st.st_mode & 0111) ? 0755 : 0644);
      char buf[65536];
      ssize_t n = 0;
      while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
          n = -1;
          break;
        }
      if (in < 0 || out < 0 || n < 0)
        err = mw_error_new(MW_ERR_IO, "copy %s: %s", from, strerror(errno));
      if (in >= 0) close(in);
      if (out >= 0 && close(out) != 0 && !err)
        err = mw_error_new(MW_ERR_IO, "copy %s: %s", from, strerror(errno));
    }
  }
  closedir(d);
  return err;
}

mw_error_t *mw__write_file_summed(const char *path, const char *sum_path,
                                  const uint8_t *data, size_t len,
                                  const char sha256_hex[65]) {
  mw_error_t *err = mw__write_file_atomic(path, data, len, 0600);
  if (!err)
    err = mw__write_file_atomic(sum_path, (const uint8_t *)sha256_hex, 64, 0600);
  return err;
}

bool mw__read_file_summed(const char *path, const char *sum_path, size_t max,
                          uint8_t **out, size_t *len, char sha256_hex[65]) {
  uint8_t *want = NULL;
  size_t want_len = 0;
  *out = NULL;
  mw_error_t *err = mw__read_file(sum_path, 64, &want, &want_len);
  if (!err && want_len == 64 && !(err = mw__read_file(path, max, out, len))) {
    mw_sha256_hex(*out, *len, sha256_hex);
    if (memcmp(sha256_hex, want, 64) != 0) { /* torn or damaged */
      free(*out);
      *out = NULL;
    }
  }
  mw_error_free(err);
  free(want);
  return *out != NULL;
}
