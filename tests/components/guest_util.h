/*
 * guest_util.h — small helpers shared by the C test components (compiled to
 * wasm32-wasi, never linked into the runtime): a growable byte buffer that
 * builds JSON text, with proper string escaping.
 *
 * Ownership: a tc_buf_t owns buf->ptr (malloc'd). Components hand that
 * pointer to the bindings inside a node_string_t, and the generated
 * post-return code frees it with free(). These are test guests running under
 * the runtime's memory limit, so allocation failure calls abort() (a guest
 * trap the host reports) instead of being threaded through every call.
 */
#ifndef MW_TEST_GUEST_UTIL_H
#define MW_TEST_GUEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} tc_buf_t;

/* malloc that aborts on failure; never returns NULL, even for n == 0. */
void *tc_xmalloc(size_t n);

/* Appends n raw bytes / a NUL-terminated string. */
void tc_buf_put(tc_buf_t *b, const void *p, size_t n);
void tc_buf_puts(tc_buf_t *b, const char *s);

/* Appends p[0..n) as a quoted JSON string, escaping '"', '\\' and control
 * characters. Valid UTF-8 passes through; each byte of an invalid sequence
 * becomes \ufffd, since component strings must be valid UTF-8. */
void tc_buf_json_str(tc_buf_t *b, const void *p, size_t n);

/* Appends v in decimal. */
void tc_buf_u64(tc_buf_t *b, uint64_t v);

/* Returns a malloc'd NUL-terminated copy of p[0..n). */
char *tc_strndup0(const uint8_t *p, size_t n);

#endif
