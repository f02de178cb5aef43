/*
 * val.c - component value helpers (see val.h).
 */
#include "host/val.h"

#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

void mw__val_string(wasmtime_component_val_t *v, const char *s, size_t n) {
  v->kind = WASMTIME_COMPONENT_STRING;
  wasm_byte_vec_new(&v->of.string, n, s);
  /* Wasmtime aborts on a host string that is not UTF-8; backends and
   * servers can send anything. */
  if (n && !mw__utf8_valid((const unsigned char *)v->of.string.data, n))
    mw__utf8_sanitize(v->of.string.data, n);
}

void mw__val_bytes(wasmtime_component_val_t *v, const uint8_t *p, size_t n) {
  wasmtime_component_val_t *e = mw__val_list(v, n);
  for (size_t i = 0; i < n; i++) {
    e[i].kind = WASMTIME_COMPONENT_U8;
    e[i].of.u8 = p[i];
  }
}

void mw__val_u16(wasmtime_component_val_t *v, uint16_t x) {
  v->kind = WASMTIME_COMPONENT_U16;
  v->of.u16 = x;
}

void mw__val_u32(wasmtime_component_val_t *v, uint32_t x) {
  v->kind = WASMTIME_COMPONENT_U32;
  v->of.u32 = x;
}

void mw__val_option(wasmtime_component_val_t *v,
                    wasmtime_component_val_t *inner) {
  v->kind = WASMTIME_COMPONENT_OPTION;
  v->of.option = inner ? wasmtime_component_val_new(inner) : NULL;
}

void mw__val_result(wasmtime_component_val_t *v, bool ok,
                    wasmtime_component_val_t *payload) {
  v->kind = WASMTIME_COMPONENT_RESULT;
  v->of.result.is_ok = ok;
  v->of.result.val = payload ? wasmtime_component_val_new(payload) : NULL;
}

void mw__val_result_err(wasmtime_component_val_t *v, const char *msg) {
  wasmtime_component_val_t s;
  mw__val_string(&s, msg, strlen(msg));
  mw__val_result(v, false, &s);
}

wasmtime_component_valrecord_entry_t *mw__val_record(
    wasmtime_component_val_t *v, size_t n) {
  v->kind = WASMTIME_COMPONENT_RECORD;
  wasmtime_component_valrecord_new_uninit(&v->of.record, n);
  return v->of.record.data;
}

wasmtime_component_val_t *mw__val_record_field(
    wasmtime_component_valrecord_entry_t *e, const char *name) {
  wasm_byte_vec_new(&e->name, strlen(name), name);
  return &e->val;
}

wasmtime_component_val_t *mw__val_list(wasmtime_component_val_t *v,
                                       size_t n) {
  v->kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&v->of.list, n);
  return v->of.list.data;
}

void mw__val_variant(wasmtime_component_val_t *v, const char *case_name,
                     wasmtime_component_val_t *payload) {
  v->kind = WASMTIME_COMPONENT_VARIANT;
  wasm_byte_vec_new(&v->of.variant.discriminant, strlen(case_name),
                    case_name);
  v->of.variant.val = payload ? wasmtime_component_val_new(payload) : NULL;
}

bool mw__get_string(const wasmtime_component_val_t *v, const char **s,
                    size_t *n) {
  if (!v || v->kind != WASMTIME_COMPONENT_STRING) return false;
  *s = v->of.string.data ? v->of.string.data : "";
  *n = v->of.string.size;
  return true;
}

bool mw__get_bytes(const wasmtime_component_val_t *v, uint8_t **out,
                   size_t *n) {
  if (!v || v->kind != WASMTIME_COMPONENT_LIST) return false;
  size_t len = v->of.list.size;
  uint8_t *p = malloc(len ? len : 1);
  if (!p) return false;
  for (size_t i = 0; i < len; i++) {
    if (v->of.list.data[i].kind != WASMTIME_COMPONENT_U8) {
      free(p);
      return false;
    }
    p[i] = v->of.list.data[i].of.u8;
  }
  *out = p;
  *n = len;
  return true;
}

const wasmtime_component_val_t *mw__get_field(
    const wasmtime_component_val_t *v, size_t nth, const char *name) {
  if (!v || v->kind != WASMTIME_COMPONENT_RECORD || nth >= v->of.record.size)
    return NULL;
  const wasmtime_component_valrecord_entry_t *e = &v->of.record.data[nth];
  size_t nl = strlen(name);
  if (e->name.size != nl || memcmp(e->name.data, name, nl) != 0) return NULL;
  return &e->val;
}
