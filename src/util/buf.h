/*
 * buf.h - a growable byte buffer with a hard maximum.
 *
 * Every buffer that grows from guest or network input is created with the
 * largest size it may reach; an append past it fails instead of growing.
 * The data is always NUL-terminated so text can be used in place.
 */
#ifndef MW_UTIL_BUF_H
#define MW_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mw_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max;
} mw_buf_t;

void mw__buf_init(mw_buf_t *b, size_t max);
/* false when the result would exceed max, or out of memory; b unchanged. */
bool mw__buf_append(mw_buf_t *b, const void *p, size_t n);
bool mw__buf_puts(mw_buf_t *b, const char *s);
/* Takes the data (malloc'd, NUL-terminated, never NULL unless out of
 * memory) and resets b. */
char *mw__buf_take(mw_buf_t *b, size_t *out_len);
void mw__buf_free(mw_buf_t *b);

#endif
