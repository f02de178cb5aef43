/*
 * val.h - building and reading wasmtime_component_val_t for the host
 * interfaces.
 *
 * Values handed back to Wasmtime (host call results) must be allocated with
 * Wasmtime's own allocators, because Wasmtime frees them; these helpers do
 * that. Readers check the value's kind, since a component may import our
 * interface names with other types.
 */
#ifndef MW_HOST_VAL_H
#define MW_HOST_VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>

void mw__val_string(wasmtime_component_val_t *v, const char *s, size_t n);
void mw__val_bytes(wasmtime_component_val_t *v, const uint8_t *p, size_t n);
void mw__val_u16(wasmtime_component_val_t *v, uint16_t x);
void mw__val_u32(wasmtime_component_val_t *v, uint32_t x);
/* option: inner (moved) or none when inner is NULL. */
void mw__val_option(wasmtime_component_val_t *v,
                    wasmtime_component_val_t *inner);
/* result: ok/err with payload (moved) or none when payload is NULL. */
void mw__val_result(wasmtime_component_val_t *v, bool ok,
                    wasmtime_component_val_t *payload);
/* result<_, string>: err(msg). */
void mw__val_result_err(wasmtime_component_val_t *v, const char *msg);
/* record with n fields; fill names and values with mw__val_record_field. */
wasmtime_component_valrecord_entry_t *mw__val_record(
    wasmtime_component_val_t *v, size_t n);
wasmtime_component_val_t *mw__val_record_field(
    wasmtime_component_valrecord_entry_t *e, const char *name);
/* list of n elements, filled by the caller. */
wasmtime_component_val_t *mw__val_list(wasmtime_component_val_t *v, size_t n);
void mw__val_variant(wasmtime_component_val_t *v, const char *case_name,
                     wasmtime_component_val_t *payload);

/* Readers; return false when v is not of the expected shape. */
bool mw__get_string(const wasmtime_component_val_t *v, const char **s,
                    size_t *n);
/* A list<u8>; *out is malloc'd (non-NULL) and owned by the caller. */
bool mw__get_bytes(const wasmtime_component_val_t *v, uint8_t **out,
                   size_t *n);
/* The nth field of a record, checking its name. */
const wasmtime_component_val_t *mw__get_field(
    const wasmtime_component_val_t *v, size_t nth, const char *name);

#endif
