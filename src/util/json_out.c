/*
 * json_out.c - JSON text into a buffer (see json_out.h).
 */
#include "util/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

/* 1 for the bytes that go out as they are: printable ASCII but '"' and
 * '\\'. */
static const unsigned char plain[256] = {
#define R8(v) v, v, v, v, v, v, v, v
    R8(0), R8(0), R8(0), R8(0), /* 0x00-0x1f: control */
    1, 1, 0, 1, 1, 1, 1, 1,     /* 0x20-0x27: '"' */
    R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), /* 0x28-0x57 */
    1, 1, 1, 1, 0, 1, 1, 1,     /* 0x58-0x5f: '\\' */
    R8(1), R8(1), R8(1), 1, 1, 1, 1, 1, 1, 1, 0, /* 0x60-0x7f: DEL */
#undef R8
};

static bool put_u16(mw_buf_t *b, unsigned v) {
  static const char hex[] = "0123456789abcdef";
  char e[6] = {'\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15],
               hex[(v >> 4) & 15], hex[v & 15]};
  return mw__buf_append(b, e, 6);
}

bool mw__json_string(mw_buf_t *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  if (!mw__buf_append(b, "\"", 1)) return false;
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && plain[p[run]]) run++;
    if (run > i && !mw__buf_append(b, p + i, run - i)) return false;
    if ((i = run) == n) break;
    unsigned char c = p[i];
    bool ok;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      ok = mw__buf_append(b, e, 2);
      i++;
    } else if (c == '\n' || c == '\r' || c == '\t') {
      char e[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
      ok = mw__buf_append(b, e, 2);
      i++;
    } else if (c < 0x80) {
      ok = put_u16(b, c);
      i++;
    } else {
      uint32_t cp;
      size_t len = mw__utf8_decode(p + i, n - i, &cp);
      if (!len) {
        cp = 0xfffd;
        len = 1;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        ok = put_u16(b, 0xd800 | (cp >> 10)) && put_u16(b, 0xdc00 | (cp & 0x3ff));
      } else {
        ok = put_u16(b, cp);
      }
      i += len;
    }
    if (!ok) return false;
  }
  return mw__buf_append(b, "\"", 1);
}

bool mw__json_key(mw_buf_t *b, const char *key) {
  return mw__buf_append(b, "\"", 1) && mw__buf_puts(b, key) &&
         mw__buf_append(b, "\":", 2);
}

bool mw__json_u64(mw_buf_t *b, uint64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%" PRIu64, v);
  return mw__buf_append(b, t, (size_t)n);
}
