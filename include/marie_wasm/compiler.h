/*
 * marie_wasm/compiler.h - turning a user's function into a marie:node
 * component.
 *
 * A compiler runs the language's build (guest/<language>/compile.sh and
 * the toolchain its install-toolchain.sh prepared) inside the bubblewrap
 * sandbox: no network, read-only toolchains, an unprivileged uid, rlimits
 * and a wall-clock timeout. Results are cached by content: the key is the
 * SHA-256 of the language, the toolchain's identity, the wrapper's files,
 * the WIT world and the code, so a hit returns at once without running any
 * toolchain, and concurrent compiles of one key (threads or processes
 * sharing the cache dir) run the toolchain once.
 *
 * A compiler is thread-safe: compile from as many threads as you like.
 */
#ifndef MARIE_WASM_COMPILER_H
#define MARIE_WASM_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mw_language {
  MW_LANG_PYTHON = 1,
  MW_LANG_JAVASCRIPT = 2,
  MW_LANG_TYPESCRIPT = 3,
  MW_LANG_RUST = 4,
  MW_LANG_C = 5
} mw_language_t;

/* "python", "javascript", "typescript", "rust", "c"; NULL if unknown. */
MW_API const char *mw_language_name(mw_language_t lang);

/* Parses a language name or its usual short form (py, js, ts, rs) or file
 * extension (.py, .js, .mjs, .ts, .rs, .c), case-insensitively.
 * Errors: MW_ERR_INPUT listing the languages. */
MW_API mw_error_t *mw_language_parse(const char *name, mw_language_t *out);

/* ---- configuration ------------------------------------------------------ */

typedef struct mw_compiler_config mw_compiler_config_t;

/* Defaults: the guest dir from MW_GUEST_DIR or the one this library was
 * built with; toolchains from MW_TOOLCHAINS_DIR or the default root
 * (/opt/marie-wasm/toolchains for root, whose home the sandbox uid cannot
 * read; $HOME/.cache/marie-wasm/toolchains otherwise), one directory per
 * language (python, javascript, rust, c; TypeScript uses javascript's);
 * the cache in MW_COMPILE_CACHE_DIR or <default root>/compile-cache; a
 * 300 s timeout and 4 GiB of data memory per compile. NULL if out of
 * memory. */
MW_API mw_compiler_config_t *mw_compiler_config_new(void);
MW_API void mw_compiler_config_free(mw_compiler_config_t *cfg);

/* The directory holding <language>/compile.sh (the wrappers). Copied. */
MW_API mw_error_t *mw_compiler_config_guest_dir(mw_compiler_config_t *cfg,
                                                const char *dir);
/* The directory of marie-node.wit (default: <guest dir>/../wit). Copied. */
MW_API mw_error_t *mw_compiler_config_wit_dir(mw_compiler_config_t *cfg,
                                              const char *dir);
/* The root holding one toolchain directory per language. Copied. */
MW_API mw_error_t *mw_compiler_config_toolchains_dir(mw_compiler_config_t *cfg,
                                                     const char *dir);
/* One language's toolchain directory, overriding the root. Copied. */
MW_API mw_error_t *mw_compiler_config_toolchain(mw_compiler_config_t *cfg,
                                                mw_language_t lang,
                                                const char *dir);
/* The content-addressed cache directory; NULL turns the cache off. */
MW_API mw_error_t *mw_compiler_config_cache_dir(mw_compiler_config_t *cfg,
                                                const char *dir);
/* Wall-clock limit of one compile, in ms (>= 1000). */
MW_API void mw_compiler_config_timeout_ms(mw_compiler_config_t *cfg,
                                          uint32_t ms);
/* Data memory (RLIMIT_DATA) of each process of a compile, in bytes. */
MW_API void mw_compiler_config_max_memory(mw_compiler_config_t *cfg,
                                          uint64_t bytes);

/* ---- the compiler ------------------------------------------------------- */

typedef struct mw_compiler mw_compiler_t;

/* Creates a compiler; cfg is only read (NULL: defaults). Checks that the
 * guest dir and WIT exist and that bubblewrap is installed; a missing
 * toolchain is reported by the first compile in its language.
 * Errors: MW_ERR_INPUT (bad dirs), MW_ERR_BACKEND (no sandbox), MW_ERR_IO. */
MW_API mw_error_t *mw_compiler_new(const mw_compiler_config_t *cfg,
                                   mw_compiler_t **out);
MW_API void mw_compiler_free(mw_compiler_t *compiler);

/* Progress of a long compile: stage is a short word ("cache", "compile",
 * "done"), message one line for humans. Called on the compiling thread. */
typedef void (*mw_compile_progress_fn)(void *user_data, const char *stage,
                                       const char *message);

typedef struct mw_compile_result mw_compile_result_t;

/* Compiles code (len bytes of source, at most 1 MiB) written in lang into
 * a component. file_name (may be NULL: "node.<ext>") is how diagnostics
 * name the user's file; its base name, when a plain one with the
 * language's extension, is also the file's name in the build (Python
 * tracebacks show it). progress may be NULL.
 *
 * Errors:
 *   MW_ERR_COMPILE  the user's code is wrong; the message is the
 *                   diagnostics, one "<file_name>:<line>:<col>: <text>"
 *                   per line, on the user's own lines;
 *   MW_ERR_LIMIT    the compile ran past the timeout or a sandbox limit;
 *   MW_ERR_BACKEND  the toolchain is missing or failed (its output
 *                   follows), or the sandbox could not run;
 *   MW_ERR_INPUT    empty or oversized source, unknown language;
 *   MW_ERR_IO, MW_ERR_NOMEM. */
MW_API mw_error_t *mw_compile(mw_compiler_t *compiler, mw_language_t lang,
                              const char *code, size_t len,
                              const char *file_name,
                              mw_compile_progress_fn progress, void *user_data,
                              mw_compile_result_t **out);

/* The component's bytes, owned by the result. */
MW_API const uint8_t *mw_compile_result_wasm(const mw_compile_result_t *r,
                                             size_t *len);
/* Lowercase hex SHA-256 of the component (64 digits), owned by r. */
MW_API const char *mw_compile_result_sha256(const mw_compile_result_t *r);
/* The cache key of this compile (64 hex digits), owned by r. */
MW_API const char *mw_compile_result_key(const mw_compile_result_t *r);
/* Whether the result came from the cache (no toolchain ran). */
MW_API bool mw_compile_result_cached(const mw_compile_result_t *r);
/* Wall-clock time of mw_compile, in ms. */
MW_API uint64_t mw_compile_result_ms(const mw_compile_result_t *r);
/* Warnings the toolchain printed for a successful compile (may be ""),
 * owned by r. */
MW_API const char *mw_compile_result_warnings(const mw_compile_result_t *r);
MW_API void mw_compile_result_free(mw_compile_result_t *r);

#ifdef __cplusplus
}
#endif
#endif
