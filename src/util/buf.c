/*
 * buf.c - growable byte buffer with a maximum (see buf.h).
 */
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mw__buf_init(mw_buf_t *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

bool mw__buf_append(mw_buf_t *b, const void *p, size_t n) {
  if (n > b->max || b->len > b->max - n) return false;
  size_t need = b->len + n + 1; /* room for the NUL */
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (!d) return false;
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

bool mw__buf_puts(mw_buf_t *b, const char *s) {
  return mw__buf_append(b, s, strlen(s));
}

char *mw__buf_take(mw_buf_t *b, size_t *out_len) {
  if (!b->data && !mw__buf_append(b, "", 0)) return NULL;
  char *d = b->data;
  if (out_len) *out_len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void mw__buf_free(mw_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
