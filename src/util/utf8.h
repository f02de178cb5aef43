/*
 * utf8.h - UTF-8 checks for text crossing into the guest.
 *
 * Component-model strings must be valid UTF-8; Wasmtime's C API aborts the
 * process on a host string that is not, so every string the host builds
 * from outside data (backends, network, files) passes through here.
 */
#ifndef MW_UTIL_UTF8_H
#define MW_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence at s[0..n) (n >= 1), its code point in *cp;
 * 0 when the bytes there are not a valid sequence. */
size_t mw__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
bool mw__utf8_valid(const unsigned char *s, size_t n);

/* Replaces, in place, every byte that does not start a valid sequence with
 * '?' (length is kept). Returns the number of bytes replaced. */
size_t mw__utf8_sanitize(char *s, size_t n);

#endif
