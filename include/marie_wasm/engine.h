/*
 * marie_wasm/engine.h - the engine: Wasmtime, its settings, and the
 * per-engine state every execution shares (linker with the host interfaces,
 * the epoch ticker thread, the compilation cache).
 *
 * Create one engine per process and share it between threads: mw_engine_t is
 * thread-safe. Configuration is a builder that mw_engine_new only reads.
 */
#ifndef MARIE_WASM_ENGINE_H
#define MARIE_WASM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_engine_config mw_engine_config_t;
typedef struct mw_engine mw_engine_t;

/* A configuration with safe defaults: pooling allocator on (falls back to
 * on-demand allocation when the host cannot reserve the pool), epoch tick
 * 2 ms, wasm stack 512 KiB, no compilation cache. NULL when out of memory. */
MW_API mw_engine_config_t *mw_engine_config_new(void);
MW_API void mw_engine_config_free(mw_engine_config_t *cfg);

/* Directory for compiled components, keyed by the component's SHA-256 and
 * the Wasmtime version; created if missing. NULL disables the cache.
 * The string is copied. */
MW_API mw_error_t *mw_engine_config_cache_dir(mw_engine_config_t *cfg,
                                              const char *dir);
/* Use Wasmtime's pooling allocator (default true). */
MW_API void mw_engine_config_pooling(mw_engine_config_t *cfg, bool on);
/* Concurrent instances the pool reserves room for (default 64). */
MW_API void mw_engine_config_pool_instances(mw_engine_config_t *cfg,
                                            uint32_t n);
/* Table elements each pooled table slot holds (default 20000). Larger slots
 * cost time at every instantiation (slots are reset); raise it only for
 * components with big function tables (interpreters). */
MW_API void mw_engine_config_pool_table_elements(mw_engine_config_t *cfg,
                                                 uint32_t n);
/* Largest linear memory any instance may reach, in MiB (default 512).
 * Executions are further limited by their permissions' max_memory_mb. */
MW_API void mw_engine_config_max_memory_mb(mw_engine_config_t *cfg,
                                           uint32_t mb);
/* Epoch tick in milliseconds: the granularity of timeouts (default 2). */
MW_API void mw_engine_config_tick_ms(mw_engine_config_t *cfg, uint32_t ms);
/* Maximum wasm stack in bytes (default 512 KiB). */
MW_API void mw_engine_config_max_wasm_stack(mw_engine_config_t *cfg,
                                            uint64_t bytes);

/* Creates an engine from cfg (borrowed). Starts one epoch ticker thread.
 * Errors: MW_ERR_MISUSE, MW_ERR_NOMEM, MW_ERR_IO (cache dir), MW_ERR_ENGINE. */
MW_API mw_error_t *mw_engine_new(const mw_engine_config_t *cfg,
                                 mw_engine_t **out_engine);

/* Stops the ticker and frees the engine. Components and executions made
 * from it must be freed first. */
MW_API void mw_engine_free(mw_engine_t *engine);

/* The Wasmtime version this library was built with, e.g. "48.0.8". */
MW_API const char *mw_wasmtime_version(void);

/* This library's version, e.g. "0.1.0". */
MW_API const char *mw_version(void);

#ifdef __cplusplus
}
#endif
#endif
