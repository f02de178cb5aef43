/*
 * wit_type.h - component types as WIT-like text, for checking that a
 * component fits the world and for describing it to people.
 */
#ifndef MW_RUNTIME_WIT_TYPE_H
#define MW_RUNTIME_WIT_TYPE_H

#include <wasmtime.h>

#include "util/buf.h"

/* Appends the text of a function type, e.g.
 * "func(name: string) -> option<string>". false when out of memory or
 * over the buffer's maximum. */
bool mw__wit_func_text(mw_buf_t *b, const wasmtime_component_func_type_t *f);

#endif
