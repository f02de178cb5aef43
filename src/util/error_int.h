/*
 * error_int.h - internal helpers around mw_error_t.
 */
#ifndef MW_UTIL_ERROR_INT_H
#define MW_UTIL_ERROR_INT_H

#include "marie_wasm/error.h"

/* The shared out-of-memory error (never allocates). */
mw_error_t *mw__nomem(void);

/* Returns a new error "<prefix>: <err's message>" with err's status and
 * frees err. NULL stays NULL. */
mw_error_t *mw__error_prefix(mw_error_t *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
