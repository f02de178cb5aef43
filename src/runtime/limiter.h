/*
 * limiter.h - the shims in third_party/wasmtime/src (see its lib.rs): the
 * store limiter with accounting, trap codes of component errors, and
 * fallible engine creation. mw_limiter_t must match the Rust struct field
 * for field.
 */
#ifndef MW_RUNTIME_LIMITER_H
#define MW_RUNTIME_LIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include <wasmtime.h>

typedef struct mw_limiter {
  int64_t memory_bytes; /* limits; negative = unlimited */
  int64_t table_elements;
  int64_t instances;
  int64_t tables;
  int64_t memories;
  uint64_t memory_current; /* accounting written by Wasmtime's callbacks */
  uint64_t memory_peak;
  uint8_t memory_refused;
  uint8_t table_refused;
} mw_limiter_t;

/* limiter must stay at a fixed address for the store's lifetime. */
void mw__wt_store_set_limiter(wasmtime_store_t *store,
                                   mw_limiter_t *limiter);

/* True (and *code set) when err is a Wasmtime trap. */
bool mw__wt_error_trap_code(const wasmtime_error_t *err, uint8_t *code);

/* Creates an engine from config (consumed); an error instead of an abort
 * when Wasmtime cannot create it. */
wasmtime_error_t *mw__wt_engine_new(wasm_config_t *config,
                                         wasm_engine_t **out);

#endif
