/*
 * auth.c - the bearer token. Only its SHA-256 is kept in memory, and a
 * presented token is hashed and compared with CRYPTO_memcmp, so neither the
 * comparison's time nor the token's length tells an attacker anything.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"

#define MAX_TOKEN_FILE 4096

mw_error_t *srv_auth_load(const char *path, unsigned char out[32]) {
  FILE *f = fopen(path, "rb");
  if (!f) return mw_error_new(MW_ERR_IO, "--token-file %s: %s", path, strerror(errno));
  char buf[MAX_TOKEN_FILE + 1];
  size_t n = fread(buf, 1, sizeof buf, f);
  bool bad = ferror(f);
  fclose(f);
  if (bad) return mw_error_new(MW_ERR_IO, "--token-file %s: read error", path);
  if (n > MAX_TOKEN_FILE)
    return mw_error_new(MW_ERR_INPUT, "--token-file %s: larger than %d bytes", path,
                        MAX_TOKEN_FILE);
  size_t start = 0;
  while (start < n && isspace((unsigned char)buf[start])) start++;
  while (n > start && isspace((unsigned char)buf[n - 1])) n--;
  mw_error_t *err = NULL;
  if (n - start < 16) {
    err = mw_error_new(MW_ERR_INPUT, "--token-file %s: the token must be at least 16 "
                                     "characters (e.g. openssl rand -hex 32)", path);
  } else {
    for (size_t i = start; i < n && !err; i++)
      if (buf[i] <= ' ' || buf[i] == 0x7f)
        err = mw_error_new(MW_ERR_INPUT, "--token-file %s: the token has spaces or "
                                         "control characters", path);
  }
  if (!err) {
    char hex[65];
    mw_sha256_hex((const uint8_t *)buf + start, n - start, hex);
    for (int i = 0; i < 32; i++) {
      unsigned v;
      sscanf(hex + 2 * i, "%2x", &v);
      out[i] = (unsigned char)v;
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return err;
}

bool srv_auth_check(const unsigned char digest[32], const char *header) {
  if (!header || strncasecmp(header, "Bearer ", 7) != 0) return false;
  const char *tok = header + 7;
  while (*tok == ' ') tok++;
  char hex[65];
  unsigned char got[32];
  mw_sha256_hex((const uint8_t *)tok, strlen(tok), hex);
  for (int i = 0; i < 32; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    got[i] = (unsigned char)v;
  }
  return CRYPTO_memcmp(got, digest, 32) == 0;
}
