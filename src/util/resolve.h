/*
 * resolve.h - getaddrinfo with a deadline.
 *
 * getaddrinfo cannot be cancelled, so the lookup runs on a detached thread
 * and the caller stops waiting at its deadline; whichever side finishes
 * last frees the lookup. Used where a guest's request waits on DNS.
 */
#ifndef MW_UTIL_RESOLVE_H
#define MW_UTIL_RESOLVE_H

#include <netdb.h>
#include <stdint.h>

#include "marie_wasm/error.h"

/* Resolves host:port (every address family, SOCK_STREAM) by deadline_ns
 * (CLOCK_MONOTONIC). On success *out must be freed with freeaddrinfo.
 * Errors: MW_ERR_BACKEND (failure or timeout), MW_ERR_NOMEM. */
mw_error_t *mw__resolve(const char *host, const char *port,
                        uint64_t deadline_ns, struct addrinfo **out);

#endif
