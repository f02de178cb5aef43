/*
 * marie_wasm/error.h - one error scheme for the whole library.
 *
 * Fallible functions return an owned mw_error_t (NULL on success), in the
 * style of the Wasmtime C API. An error carries a status code and a message
 * written for humans that names the offending input. Codes keep apart caller
 * misuse, bad input, policy denial and infrastructure failure; guest traps
 * are not errors at all but an outcome of an execution (execute.h).
 */
#ifndef MARIE_WASM_ERROR_H
#define MARIE_WASM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MW_API __attribute__((visibility("default")))
#else
#define MW_API
#endif

/* X(name, value, short description). Values are stable: append only. */
#define MW_STATUS_LIST(X)                                                     \
  X(MW_OK, 0, "success")                                                      \
  X(MW_ERR_MISUSE, 1, "invalid argument or API misuse")                       \
  X(MW_ERR_NOMEM, 2, "out of memory")                                         \
  X(MW_ERR_IO, 3, "file or I/O failure")                                      \
  X(MW_ERR_INPUT, 4, "invalid input document")                                \
  X(MW_ERR_COMPONENT, 5, "invalid component or not a marie:node component")  \
  X(MW_ERR_ARTIFACT, 6, "precompiled artifact is incompatible or corrupt")    \
  X(MW_ERR_DENIED, 7, "denied by permissions")                                \
  X(MW_ERR_BACKEND, 8, "host backend failure")                                \
  X(MW_ERR_ENGINE, 9, "engine failure")                                       \
  X(MW_ERR_LIMIT, 10, "a configured limit was exceeded")                     \
  X(MW_ERR_COMPILE, 11, "the user's code does not compile")

typedef enum mw_status {
#define MW__STATUS_ENUM(name, value, desc) name = value,
  MW_STATUS_LIST(MW__STATUS_ENUM)
#undef MW__STATUS_ENUM
} mw_status_t;

typedef struct mw_error mw_error_t;

/* The status code of err; MW_OK when err is NULL. */
MW_API mw_status_t mw_error_status(const mw_error_t *err);

/* The message of err, owned by err (valid until mw_error_free). Never NULL. */
MW_API const char *mw_error_message(const mw_error_t *err);

MW_API void mw_error_free(mw_error_t *err);

/* Creates an error, for host backends written by embedders. The message is
 * printf-formatted and copied. Never returns NULL (falls back to a static
 * out-of-memory error that mw_error_free accepts). */
MW_API mw_error_t *mw_error_new(mw_status_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "MW_ERR_INPUT" etc.; "MW_UNKNOWN" for a value outside the list. Static. */
MW_API const char *mw_status_name(mw_status_t status);

/* A one-line description of a status. Static. */
MW_API const char *mw_status_describe(mw_status_t status);

#ifdef __cplusplus
}
#endif
#endif
