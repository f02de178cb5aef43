/*
 * base64.h - standard base64 (RFC 4648, with padding) for binary items in
 * JSON documents.
 */
#ifndef MW_UTIL_BASE64_H
#define MW_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc'd NUL-terminated text; NULL when out of memory. */
char *mw__base64_encode(const uint8_t *p, size_t n);
/* Decodes text (whitespace not allowed). false on bad input or out of
 * memory; *out is malloc'd (non-NULL even for empty input). */
bool mw__base64_decode(const char *s, size_t n, uint8_t **out,
                       size_t *out_len);

#endif
