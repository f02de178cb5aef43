/*
 * secrets_file.c - the encrypted secrets file: the provider that serves it
 * (decrypted once at load, immutable after, so thread-safe), the tooling
 * that edits it (set, unset, list) and the parsing of its 32-byte key.
 *
 * File format, version 1 (binary; sizes in bytes):
 *
 *   offset  size  field
 *   0       10    magic "MWSECRETS\n"
 *   10      1     format version: 0x01
 *   11      12    nonce: random, new for every write
 *   23      n     ciphertext: AES-256-GCM of the plaintext
 *   23+n    16    GCM tag
 *
 * The plaintext is a compact UTF-8 JSON object {"NAME": "value", ...} with
 * sorted keys. The associated data is the 23-byte header (magic, version,
 * nonce), so a changed header fails authentication like a changed
 * ciphertext. The key is used as the AES key directly (no KDF): it must be
 * 32 random bytes, e.g. `openssl rand -hex 32`. Random 96-bit nonces stay
 * safe for about 2^32 writes under one key. Files are at most 16 MiB.
 *
 * Writes are atomic: a temporary file (mode 0600) in the same directory is
 * written, fsync'd and renamed over the file, then the directory is
 * fsync'd. A symlink at `path` is replaced by a regular file. Concurrent
 * writers through this file serialise on flock() of the directory, so no
 * update is lost.
 *
 * Decryption failure is reported as "wrong key or corrupt file" and never
 * says which. Error messages never contain key material or values.
 * Plaintext buffers this file owns are wiped with OPENSSL_cleanse; copies
 * jansson makes while parsing cannot be reached and are not.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host_int.h"
#include "util/base64.h"
#include "util/error_int.h"
#include "util/utf8.h"

#define MAGIC "MWSECRETS\n"
#define MAGIC_LEN 10
#define FORMAT_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (MAGIC_LEN + 1 + NONCE_LEN)
#define MAX_FILE_BYTES (16u << 20)
#define MAX_NAME_BYTES 256
#define MAX_VALUE_BYTES (1u << 20)
#define MAX_KEY_FILE_BYTES 1024
#define KEY_FORMS "64 hex digits or base64 of 32 bytes"

/* ---- small helpers ------------------------------------------------------ */

/* Names: 1 to 256 bytes of UTF-8 without control characters (so `list`
 * prints one name per line and logs stay one line). NULs cannot occur in a
 * C string. */
static bool name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > MAX_NAME_BYTES) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) return false;
  return mw__utf8_valid((const unsigned char *)name, n);
}

/* jansson keeps a string's bytes in a private malloc'd buffer; wiping them
 * in place before the value is released is the only way to clear it. */
static void wipe_string(json_t *s) {
  if (json_is_string(s))
    OPENSSL_cleanse((char *)json_string_value(s), json_string_length(s));
}

/* Releases a decrypted map, wiping its values first. */
static void wipe_map(json_t *obj) {
  const char *k;
  json_t *v;
  if (!obj) return;
  json_object_foreach(obj, k, v) wipe_string(v);
  json_decref(obj);
}

static mw_error_t *io_error(const char *path, const char *what) {
  return mw_error_new(MW_ERR_IO, "%s: %s%s%s", path, what ? what : "",
                      what ? ": " : "", strerror(errno));
}

/* Reads a whole regular file of at most max bytes. *out is malloc'd (at
 * least 1 byte). *missing (when given) is set instead of failing when the
 * file does not exist. */
static mw_error_t *read_small_file(const char *path, size_t max,
                                   uint8_t **out, size_t *out_len,
                                   bool *missing) {
  *out = NULL;
  *out_len = 0;
  if (missing) *missing = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing) {
      *missing = true;
      return NULL;
    }
    return io_error(path, NULL);
  }
  mw_error_t *err = NULL;
  uint8_t *buf = NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    err = io_error(path, NULL);
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    err = mw_error_new(MW_ERR_IO, "%s: not a regular file", path);
    goto out;
  }
  if ((uint64_t)st.st_size > max) {
    err = mw_error_new(MW_ERR_INPUT, "%s: larger than %zu bytes", path, max);
    goto out;
  }
  size_t size = (size_t)st.st_size, len = 0;
  if (!(buf = malloc(size + 1))) {
    err = mw__nomem();
    goto out;
  }
  while (len < size) {
    ssize_t r = read(fd, buf + len, size - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      err = io_error(path, NULL);
      goto out;
    }
    if (r == 0) break; /* shrank since fstat: what was read is the file */
    len += (size_t)r;
  }
  *out = buf;
  *out_len = len;
  buf = NULL;
out:
  free(buf);
  close(fd);
  return err;
}

/* ---- keys ----------------------------------------------------------------- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses 64 hex digits or base64 (with padding) of exactly 32 bytes, after
 * dropping one trailing newline. Never echoes the text anywhere. */
static bool parse_key(const char *text, size_t n, uint8_t out[32]) {
  if (n > 0 && text[n - 1] == '\n') {
    n--;
    if (n > 0 && text[n - 1] == '\r') n--;
  }
  if (n == 64) {
    for (size_t i = 0; i < 32; i++) {
      int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        OPENSSL_cleanse(out, 32);
        return false;
      }
      out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
  }
  if (n != 44) return false;
  uint8_t *raw;
  size_t raw_len;
  if (!mw__base64_decode(text, n, &raw, &raw_len)) return false;
  bool ok = raw_len == 32;
  if (ok) memcpy(out, raw, 32);
  OPENSSL_cleanse(raw, raw_len); /* key material */
  free(raw);
  return ok;
}

mw_error_t *mw_secrets_key_from_env(const char *var, uint8_t out[32]) {
  if (!var || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  const char *text = getenv(var);
  if (!text || !*text)
    return mw_error_new(MW_ERR_INPUT, "%s is not set (expected " KEY_FORMS ")",
                        var);
  if (!parse_key(text, strlen(text), out))
    return mw_error_new(MW_ERR_INPUT, "%s: not a key (expected " KEY_FORMS ")",
                        var);
  return NULL;
}

mw_error_t *mw_secrets_key_from_file(const char *path, uint8_t out[32]) {
  if (!path || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  uint8_t *text;
  size_t n;
  mw_error_t *err = read_small_file(path, MAX_KEY_FILE_BYTES, &text, &n, NULL);
  if (err) return mw__error_prefix(err, "key file");
  if (!parse_key((const char *)text, n, out))
    err = mw_error_new(MW_ERR_INPUT,
                       "key file %s: not a key (expected " KEY_FORMS
                       ", optionally followed by one newline)",
                       path);
  OPENSSL_cleanse(text, n); /* key material */
  free(text);
  return err;
}

/* ---- encryption ------------------------------------------------------------ */

static mw_error_t *corrupt(const char *path) {
  return mw_error_new(MW_ERR_INPUT, "%s: wrong key or corrupt file", path);
}

/* Checks an authentic plaintext: an object of valid names to strings. */
static mw_error_t *parse_plain(const char *path, const uint8_t *plain,
                               size_t n, json_t **out) {
  json_error_t je;
  json_t *obj = json_loadb((const char *)plain, n, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(obj)) goto bad;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (!json_is_string(v) || !name_valid(k)) goto bad;
  }
  *out = obj;
  return NULL;
bad:
  wipe_map(obj);
  return corrupt(path);
}

/* Decrypts a whole file's bytes into the map of secrets. */
static mw_error_t *open_file(const char *path, const uint8_t key[32],
                             const uint8_t *data, size_t len, json_t **out) {
  *out = NULL;
  if (len < MAGIC_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0)
    return mw_error_new(MW_ERR_INPUT, "%s: not a marie-wasm secrets file",
                        path);
  if (len < HEADER_LEN + TAG_LEN) return corrupt(path);
  if (data[MAGIC_LEN] != FORMAT_VERSION)
    return mw_error_new(MW_ERR_INPUT,
                        "%s: secrets file version %u is not supported "
                        "(this build reads version %d)",
                        path, data[MAGIC_LEN], FORMAT_VERSION);
  const uint8_t *nonce = data + MAGIC_LEN + 1;
  const uint8_t *ct = data + HEADER_LEN;
  size_t ct_len = len - HEADER_LEN - TAG_LEN;
  uint8_t tag[TAG_LEN];
  memcpy(tag, ct + ct_len, TAG_LEN);
  mw_error_t *err = NULL;
  uint8_t *plain = malloc(ct_len + 1);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, fin = 0;
  if (!plain || !c) {
    err = mw__nomem();
    goto out;
  }
  if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
      EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
      EVP_DecryptUpdate(c, NULL, &n, data, HEADER_LEN) != 1 ||
      (ct_len && EVP_DecryptUpdate(c, plain, &n, ct, (int)ct_len) != 1) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1) {
    err = mw_error_new(MW_ERR_BACKEND, "%s: OpenSSL cannot decrypt", path);
    goto out;
  }
  /* The tag check: a wrong key and a modified file look the same here, and
   * the message must not say which. */
  if (EVP_DecryptFinal_ex(c, plain + n, &fin) != 1) {
    err = corrupt(path);
    goto out;
  }
  err = parse_plain(path, plain, ct_len, out);
out:
  if (plain) OPENSSL_cleanse(plain, ct_len + 1); /* plaintext secrets */
  free(plain);
  EVP_CIPHER_CTX_free(c);
  return err;
}

/* Encrypts plaintext into a whole file image (header, ciphertext, tag). */
static mw_error_t *seal(const uint8_t key[32], const uint8_t *plain, size_t n,
                        uint8_t **out, size_t *out_len) {
  *out = NULL;
  if (n > MAX_FILE_BYTES - HEADER_LEN - TAG_LEN)
    return mw_error_new(MW_ERR_LIMIT, "secrets file would exceed %u bytes",
                        MAX_FILE_BYTES);
  size_t total = HEADER_LEN + n + TAG_LEN;
  mw_error_t *err = NULL;
  uint8_t *buf = malloc(total);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int w = 0, fin = 0;
  if (!buf || !c) {
    err = mw__nomem();
    goto out;
  }
  memcpy(buf, MAGIC, MAGIC_LEN);
  buf[MAGIC_LEN] = FORMAT_VERSION;
  uint8_t *nonce = buf + MAGIC_LEN + 1;
  /* A nonce must never repeat under one key: fresh random bytes per write. */
  if (RAND_bytes(nonce, NONCE_LEN) != 1) {
    err = mw_error_new(MW_ERR_BACKEND, "secrets: no random bytes available");
    goto out;
  }
  if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
      EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
      EVP_EncryptUpdate(c, NULL, &w, buf, HEADER_LEN) != 1 ||
      (n && EVP_EncryptUpdate(c, buf + HEADER_LEN, &w, plain, (int)n) != 1) ||
      EVP_EncryptFinal_ex(c, buf + HEADER_LEN + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                          buf + HEADER_LEN + n) != 1) {
    err = mw_error_new(MW_ERR_BACKEND, "secrets: OpenSSL cannot encrypt");
    goto out;
  }
  *out = buf;
  *out_len = total;
  buf = NULL;
out:
  free(buf);
  EVP_CIPHER_CTX_free(c);
  return err;
}

/* Reads and decrypts path. With allow_missing, a missing file is empty. */
static mw_error_t *load(const char *path, const uint8_t key[32],
                        bool allow_missing, json_t **out) {
  uint8_t *data;
  size_t len;
  bool missing = false;
  *out = NULL;
  mw_error_t *err = read_small_file(path, MAX_FILE_BYTES, &data, &len,
                                    allow_missing ? &missing : NULL);
  if (err) return err;
  if (allow_missing && missing)
    return (*out = json_object()) ? NULL : mw__nomem();
  err = open_file(path, key, data, len, out);
  free(data);
  return err;
}

/* ---- atomic write -------------------------------------------------------- */

/* The directory holding path ("." for a bare name); malloc'd. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static mw_error_t *write_all(int fd, const uint8_t *p, size_t n,
                             const char *path) {
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return io_error(path, "write");
    off += (size_t)w;
  }
  return NULL;
}

/* Replaces path with data: temp file in the same directory (so rename is
 * atomic), fsync, rename, fsync of the directory (dirfd). */
static mw_error_t *write_atomic(const char *path, const char *dir, int dirfd,
                                const uint8_t *data, size_t len) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  int n = snprintf(NULL, 0, "%s/.%s.tmp-XXXXXX", dir, base);
  if (n < 0) return mw_error_new(MW_ERR_INPUT, "%s: bad path", path);
  char *tmp = malloc((size_t)n + 1);
  if (!tmp) return mw__nomem();
  snprintf(tmp, (size_t)n + 1, "%s/.%s.tmp-XXXXXX", dir, base);
  mw_error_t *err = NULL;
  /* mkostemp creates the file 0600 and exclusively (no symlink race). */
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    err = io_error(path, "creating a temporary file");
    goto out;
  }
  /* Only the owner may read the ciphertext, whatever the umask. */
  if (fchmod(fd, 0600) != 0) err = io_error(tmp, "chmod");
  if (!err) err = write_all(fd, data, len, tmp);
  if (!err && fsync(fd) != 0) err = io_error(tmp, "fsync");
  if (close(fd) != 0 && !err) err = io_error(tmp, "close");
  if (!err && rename(tmp, path) != 0) err = io_error(path, "rename");
  if (err) {
    unlink(tmp);
    goto out;
  }
  /* The rename itself must survive a crash. */
  if (fsync(dirfd) != 0) err = io_error(dir, "fsync");
out:
  free(tmp);
  return err;
}

/* ---- the public tooling -------------------------------------------------- */

mw_error_t *mw_secrets_file_set(const char *path, const uint8_t key[32],
                                const char *name, const char *value) {
  if (!path || !key || !name)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  if (!name_valid(name))
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: invalid name (1 to %d bytes of UTF-8, no "
                        "control characters)",
                        MAX_NAME_BYTES);
  if (value && (strlen(value) > MAX_VALUE_BYTES ||
                !mw__utf8_valid((const unsigned char *)value, strlen(value))))
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: the value of '%s' must be valid UTF-8 of at "
                        "most %u bytes",
                        name, MAX_VALUE_BYTES);
  mw_error_t *err = NULL;
  json_t *map = NULL;
  char *plain = NULL;
  size_t plain_len = 0;
  uint8_t *image = NULL;
  size_t image_len = 0;
  int dirfd = -1;
  char *dir = dir_of(path);
  if (!dir) return mw__nomem();
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    err = io_error(dir, NULL);
    goto out;
  }
  /* Read-modify-write under one lock: concurrent sets never lose one. */
  if (flock(dirfd, LOCK_EX) != 0) {
    err = io_error(dir, "lock");
    goto out;
  }
  if ((err = load(path, key, value != NULL, &map))) goto out;
  json_t *old = json_object_get(map, name);
  if (!value && !old) {
    err = mw_error_new(MW_ERR_INPUT, "%s: no secret named '%s'", path, name);
    goto out;
  }
  wipe_string(old); /* the replaced value is released inside jansson */
  if (value) {
    json_t *s = json_string(value);
    if (!s || json_object_set_new(map, name, s) != 0) {
      err = mw__nomem();
      goto out;
    }
  } else {
    json_object_del(map, name);
  }
  /* Measure, then dump into one buffer of our own: no reallocs leave
   * plaintext copies behind. */
  const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
  plain_len = json_dumpb(map, NULL, 0, flags);
  if (plain_len == 0 || !(plain = malloc(plain_len))) {
    err = mw__nomem();
    goto out;
  }
  if (json_dumpb(map, plain, plain_len, flags) != plain_len) {
    err = mw_error_new(MW_ERR_BACKEND, "secrets: cannot encode the file");
    goto out;
  }
  if ((err = seal(key, (const uint8_t *)plain, plain_len, &image,
                  &image_len)))
    goto out;
  err = write_atomic(path, dir, dirfd, image, image_len);
out:
  if (plain) OPENSSL_cleanse(plain, plain_len); /* plaintext secrets */
  free(plain);
  free(image);
  wipe_map(map);
  if (dirfd >= 0) close(dirfd); /* also releases the lock */
  free(dir);
  return err;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

mw_error_t *mw_secrets_file_list(const char *path, const uint8_t key[32],
                                 char ***out_names, size_t *out_count) {
  if (!out_names || !out_count)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out_names = NULL;
  *out_count = 0;
  if (!path || !key) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  json_t *map;
  mw_error_t *err = load(path, key, false, &map);
  if (err) return err;
  size_t count = json_object_size(map), i = 0;
  char **names = calloc(count ? count : 1, sizeof *names);
  if (!names) {
    err = mw__nomem();
    goto out;
  }
  const char *k;
  json_t *v;
  json_object_foreach(map, k, v) {
    if (!(names[i] = strdup(k))) {
      mw_strings_free(names, i);
      names = NULL;
      err = mw__nomem();
      goto out;
    }
    i++;
  }
  qsort(names, count, sizeof *names, cmp_str);
  *out_names = names;
  *out_count = count;
out:
  wipe_map(map);
  return err;
}

void mw_strings_free(char **strings, size_t count) {
  if (!strings) return;
  for (size_t i = 0; i < count; i++) free(strings[i]);
  free(strings);
}

/* ---- the provider ---------------------------------------------------------- */

static mw_error_t *file_get(void *ctx, const char *name, char **out) {
  json_t *v = json_object_get(ctx, name);
  *out = NULL;
  if (v && !(*out = strdup(json_string_value(v)))) return mw__nomem();
  return NULL;
}

static void file_free(void *ctx) { wipe_map(ctx); }

mw_error_t *mw_host_use_secrets_file(mw_host_t *host, const char *path,
                                     const uint8_t key[32]) {
  if (!host || !path || !key)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  json_t *map;
  mw_error_t *err = load(path, key, false, &map);
  if (err) return err;
  static const mw_secrets_vtable_t vt = {file_get};
  mw_host_set_secrets(host, &vt, map, file_free);
  return NULL;
}
