/*
 * host_int.h - the marie:node host interfaces, one file each.
 *
 * Each file defines its interface's functions in the engine's linker once;
 * the callbacks find the execution they serve in the store's data. Every
 * callback first checks the permissions, then calls the backend.
 */
#ifndef MW_HOST_INT_H
#define MW_HOST_INT_H

#include <wasmtime.h>

#include "runtime/runtime_int.h"

#define MW_KV_MAX_VALUE_BYTES (1u << 20)

typedef wasmtime_error_t *(*mw_host_fn)(void *, wasmtime_context_t *,
                                        const wasmtime_component_func_type_t *,
                                        wasmtime_component_val_t *, size_t,
                                        wasmtime_component_val_t *, size_t);

typedef struct mw_host_func {
  const char *name;
  mw_host_fn fn;
} mw_host_func_t;

/* Defines interface `iface` (e.g. "marie:node/kv@1.0.0") with funcs. */
mw_error_t *mw__define_interface(wasmtime_component_linker_t *linker,
                                 const char *iface,
                                 const mw_host_func_t *funcs, size_t n);

/* The execution behind a host call; counts the call. */
mw_exec_t *mw__host_call(wasmtime_context_t *ctx);

/* Records a denied call: counts it and logs a host warning naming what was
 * refused and which permission would allow it. */
void mw__host_denied(mw_exec_t *ex, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A Wasmtime error for a call whose arguments do not have the interface's
 * types (only possible if validation at load time was bypassed). */
wasmtime_error_t *mw__bad_args(const char *func);

mw_error_t *mw__define_console(wasmtime_component_linker_t *linker);
mw_error_t *mw__define_events(wasmtime_component_linker_t *linker);
mw_error_t *mw__define_secrets(wasmtime_component_linker_t *linker);
mw_error_t *mw__define_kv(wasmtime_component_linker_t *linker);
mw_error_t *mw__define_http(wasmtime_component_linker_t *linker);

#endif
