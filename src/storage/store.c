/*
 * store.c - mw_store_t: key rules, the node key layout, integrity checks,
 * and dispatch to a backend (local.c, s3.c).
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_int.h"
#include "util/error_int.h"

void mw_sha256_hex(const uint8_t *data, size_t len, char out[65]) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Keys become paths (and S3 object names): only plain segments, so no key
 * can climb out of the store or name something odd. */
static mw_error_t *check_key(const char *key) {
  size_t n = key ? strlen(key) : 0;
  if (n == 0 || n > 1024 || key[0] == '/' || key[n - 1] == '/')
    return mw_error_new(MW_ERR_INPUT, "store: invalid key '%s'", key ? key : "");
  const char *seg = key;
  for (const char *c = key;; c++) {
    if (*c == '/' || *c == '\0') {
      size_t sl = (size_t)(c - seg);
      if (sl == 0 || (sl == 1 && seg[0] == '.') ||
          (sl == 2 && seg[0] == '.' && seg[1] == '.'))
        return mw_error_new(MW_ERR_INPUT, "store: invalid key '%s'", key);
      if (!*c) break;
      seg = c + 1;
      continue;
    }
    unsigned char u = (unsigned char)*c;
    if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
          (u >= '0' && u <= '9') || u == '.' || u == '_' || u == '-'))
      return mw_error_new(MW_ERR_INPUT, "store: invalid key '%s'", key);
  }
  return NULL;
}

mw_error_t *mw_store_open(const char *location, mw_store_t **out) {
  if (!location || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  const char *dir = location;
  bool s3 = !strncmp(location, "s3://", 5);
  if (s3) dir = location + 5;
  else if (!strncmp(location, "file://", 7)) dir = location + 7;
  else if (strstr(location, "://"))
    return mw_error_new(MW_ERR_INPUT,
                        "store '%s': unsupported (use a directory, file:///dir "
                        "or s3://bucket/prefix)",
                        location);
  if (!*dir) return mw_error_new(MW_ERR_INPUT, "store: empty location");
  mw_store_t *s = calloc(1, sizeof *s);
  if (!s) return mw__nomem();
  mw_error_t *err =
      s3 ? mw__store_s3_open(dir, s) : mw__store_local_open(dir, s);
  if (err) {
    free(s);
    return err;
  }
  *out = s;
  return NULL;
}

void mw_store_free(mw_store_t *s) {
  if (!s) return;
  if (s->vt && s->vt->free) s->vt->free(s->ctx);
  free(s);
}

mw_error_t *mw_store_node_key(const char *node_id, const char *sha,
                              const char *ext, char **out) {
  if (!node_id || !sha || !ext || !out)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  size_t n = strlen(node_id);
  if (n == 0 || n > 128 || node_id[0] == '.' || strchr(node_id, '/'))
    return mw_error_new(MW_ERR_INPUT,
                        "node_id '%s': 1-128 characters of A-Z a-z 0-9 . _ -, "
                        "not starting with '.'",
                        node_id);
  if (strlen(sha) < 24 || (strcmp(ext, ".wasm") && strcmp(ext, ".cwasm")))
    return mw_error_new(MW_ERR_MISUSE, "store: bad hash or extension");
  size_t len = 11 + n + 1 + 24 + strlen(ext) + 1;
  char *key = malloc(len);
  if (!key) return mw__nomem();
  snprintf(key, len, "wasm/nodes/%s/%.24s%s", node_id, sha, ext);
  mw_error_t *err = check_key(key);
  if (err) {
    free(key);
    return mw__error_prefix(err, "node_id '%s'", node_id);
  }
  *out = key;
  return NULL;
}

mw_error_t *mw_store_put(mw_store_t *s, const char *key, const uint8_t *data,
                         size_t len) {
  if (!s || (!data && len)) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  mw_error_t *err = check_key(key);
  return err ? err : s->vt->put(s->ctx, key, data, len);
}

mw_error_t *mw_store_get(mw_store_t *s, const char *key, const char *expect,
                         uint8_t **out, size_t *out_len) {
  if (!s || !out || !out_len) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  *out_len = 0;
  mw_error_t *err = check_key(key);
  if (err) return err;
  uint8_t *data;
  size_t len;
  if ((err = s->vt->get(s->ctx, key, &data, &len))) return err;
  if (expect) {
    char got[65];
    mw_sha256_hex(data, len, got);
    if (strcasecmp(got, expect) != 0) {
      free(data);
      return mw_error_new(MW_ERR_ARTIFACT,
                          "store: '%s' is corrupt (sha256 %s, expected %s)",
                          key, got, expect);
    }
  }
  *out = data;
  *out_len = len;
  return NULL;
}
