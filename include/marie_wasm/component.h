/*
 * marie_wasm/component.h - loading, precompiling and inspecting components.
 *
 * A component is compiled (or mapped from a .cwasm artifact) once and then
 * executed any number of times, from any number of threads: mw_component_t
 * is immutable and thread-safe. Loading checks that the component fits the
 * world marie:node@1.0.0: it exports `execute` with the world's type and
 * imports nothing but marie:node interfaces and the WASI 0.2 interfaces the
 * runtime provides; anything else is refused with an error naming it.
 *
 * Security: a .cwasm artifact is native code. Load artifacts only from
 * storage you trust (ones this library wrote); .wasm input may be untrusted.
 */
#ifndef MARIE_WASM_COMPONENT_H
#define MARIE_WASM_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_component mw_component_t;

/* Capability interfaces a component imports: the least permissions it
 * could need. */
typedef enum mw_capability {
  MW_CAP_HTTP = 1u << 0,
  MW_CAP_SECRETS = 1u << 1,
  MW_CAP_KV = 1u << 2,
  MW_CAP_CONSOLE = 1u << 3,
  MW_CAP_EVENTS = 1u << 4
} mw_capability_t;

/* Compiles a component from .wasm bytes (borrowed). With a cache dir on the
 * engine, a previous compilation of the same bytes is mapped instead.
 * Errors: MW_ERR_COMPONENT (not a component, or it does not fit the world),
 * MW_ERR_NOMEM, MW_ERR_ENGINE. */
MW_API mw_error_t *mw_component_new(mw_engine_t *engine, const uint8_t *wasm,
                                    size_t len, mw_component_t **out);

/* Loads a .wasm (compiles it) or a .cwasm (maps it), told apart by content.
 * Errors: as mw_component_new, plus MW_ERR_IO and MW_ERR_ARTIFACT (built by
 * another Wasmtime version or with other settings, or corrupt). */
MW_API mw_error_t *mw_component_load_file(mw_engine_t *engine,
                                          const char *path,
                                          mw_component_t **out);

/* Writes c's native artifact to path (atomically: temp file + rename).
 * Errors: MW_ERR_IO, MW_ERR_ENGINE. */
MW_API mw_error_t *mw_component_write_artifact(const mw_component_t *c,
                                               const char *path);

MW_API void mw_component_free(mw_component_t *c);

/* Bitwise OR of mw_capability_t that c imports. */
MW_API unsigned mw_component_capabilities(const mw_component_t *c);

/* Lowercase hex SHA-256 of the .wasm the component was compiled from, or ""
 * when it was loaded from an artifact. Owned by c. */
MW_API const char *mw_component_sha256(const mw_component_t *c);

/* Why c does not fit the world (owned by c), or NULL when it fits. */
MW_API const char *mw_component_problems(const mw_component_t *c);

/* A JSON description of c: {"fits_world": bool, "problems": [..],
 * "imports": [..], "exports": [{"name","type"}], "capabilities": [..]}.
 * The text is malloc'd and owned by the caller (free()). */
MW_API mw_error_t *mw_component_describe(const mw_component_t *c,
                                         char **out_json);

/* Like mw_component_new but never refuses a component for not fitting the
 * world: for `inspect`, to say why a component does not fit. Such a
 * component can be described but not executed (MW_ERR_COMPONENT). */
MW_API mw_error_t *mw_component_inspect_file(mw_engine_t *engine,
                                             const char *path,
                                             mw_component_t **out);

#ifdef __cplusplus
}
#endif
#endif
