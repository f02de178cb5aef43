/*
 * utf8.c - UTF-8 validation and repair (see utf8.h).
 */
#include "util/utf8.h"

#include <stdint.h>

size_t mw__utf8_decode(const unsigned char *s, size_t n, uint32_t *out) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80) {
    *out = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, cp = c & 0x07;
  else
    return 0;
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *out = cp;
  return len;
}

static size_t sequence_len(const unsigned char *s, size_t n) {
  uint32_t cp;
  return mw__utf8_decode(s, n, &cp);
}

bool mw__utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t len = sequence_len(s + i, n - i);
    if (!len) return false;
    i += len;
  }
  return true;
}

size_t mw__utf8_sanitize(char *s, size_t n) {
  size_t fixed = 0;
  for (size_t i = 0; i < n;) {
    size_t len = sequence_len((const unsigned char *)s + i, n - i);
    if (len) {
      i += len;
    } else {
      s[i++] = '?';
      fixed++;
    }
  }
  return fixed;
}
