/*
 * base64.c - base64 through OpenSSL's EVP encoder (see base64.h).
 */
#include "util/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>

char *mw__base64_encode(const uint8_t *p, size_t n) {
  if (n > (size_t)INT32_MAX / 2) return NULL;
  size_t out_len = 4 * ((n + 2) / 3);
  char *out = malloc(out_len + 1);
  if (!out) return NULL;
  int w = n ? EVP_EncodeBlock((unsigned char *)out, p, (int)n) : 0;
  out[w] = '\0';
  return out;
}

bool mw__base64_decode(const char *s, size_t n, uint8_t **out,
                       size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (n % 4 != 0 || n > (size_t)INT32_MAX) return false;
  uint8_t *buf = malloc(n / 4 * 3 + 1);
  if (!buf) return false;
  int w = n ? EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) : 0;
  if (w < 0) {
    free(buf);
    return false;
  }
  /* EVP_DecodeBlock counts padding as zero bytes. */
  size_t len = (size_t)w;
  if (n >= 1 && s[n - 1] == '=') len--;
  if (n >= 2 && s[n - 2] == '=') len--;
  *out = buf;
  *out_len = len;
  return true;
}
