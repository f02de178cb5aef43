/* guest_util.c — see guest_util.h. */
#include "guest_util.h"

#include <stdlib.h>
#include <string.h>

void *tc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void reserve(tc_buf_t *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return;
    if (extra > SIZE_MAX / 2 - b->len)
        abort();
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->ptr, cap);
    if (!p)
        abort();
    b->ptr = p;
    b->cap = cap;
}

void tc_buf_put(tc_buf_t *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
}

void tc_buf_puts(tc_buf_t *b, const char *s)
{
    tc_buf_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    size_t len;
    uint32_t min, cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void tc_buf_json_str(tc_buf_t *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = p;

    tc_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = utf8_len(s + i, n - i);
        if (len == 0) {
            /* Component strings must be valid UTF-8, or lifting traps. */
            tc_buf_put(b, "\\ufffd", 6);
            i++;
            continue;
        }
        if (len > 1) {
            tc_buf_put(b, s + i, len);
        } else if (c == '"' || c == '\\') {
            uint8_t esc[2] = {'\\', c};
            tc_buf_put(b, esc, 2);
        } else if (c == '\n') {
            tc_buf_put(b, "\\n", 2);
        } else if (c == '\r') {
            tc_buf_put(b, "\\r", 2);
        } else if (c == '\t') {
            tc_buf_put(b, "\\t", 2);
        } else if (c < 0x20) {
            uint8_t esc[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            tc_buf_put(b, esc, 6);
        } else {
            tc_buf_put(b, &c, 1);
        }
        i += len;
    }
    tc_buf_put(b, "\"", 1);
}

void tc_buf_u64(tc_buf_t *b, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tc_buf_put(b, digits + sizeof digits - n, n);
}

char *tc_strndup0(const uint8_t *p, size_t n)
{
    if (n == SIZE_MAX)
        abort();
    char *s = tc_xmalloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
