/*
 * json_out.h - writing JSON text straight into a buffer.
 *
 * For documents built on every execution (results, API answers): one pass
 * over each string, no tree of values to build and free. Output is ASCII:
 * other characters are written as \u escapes, and bytes that are not valid
 * UTF-8 as \ufffd, so the text is valid JSON whatever the input.
 */
#ifndef MW_UTIL_JSON_OUT_H
#define MW_UTIL_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Each returns false when the buffer is full or out of memory; the buffer
 * then holds a prefix of the document and should be freed. */
bool mw__json_string(mw_buf_t *b, const char *s, size_t n);
/* "key": (key is trusted ASCII, written as is) */
bool mw__json_key(mw_buf_t *b, const char *key);
bool mw__json_u64(mw_buf_t *b, uint64_t v);

#endif
