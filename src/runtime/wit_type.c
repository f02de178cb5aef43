/*
 * wit_type.c - renders component types as canonical WIT-like text.
 *
 * Structural equality of two types is equality of their texts: records,
 * variants, enums and flags spell out their field and case names, which the
 * component model's type checks also compare.
 */
#include "runtime/wit_type.h"

#include <stdio.h>

static bool put(mw_buf_t *b, const char *s) { return mw__buf_puts(b, s); }

static bool putn(mw_buf_t *b, const char *s, size_t n) {
  return mw__buf_append(b, s, n);
}

static bool val_text(mw_buf_t *b, const wasmtime_component_valtype_t *t,
                     int depth);

/* Renders a nested type and frees it. */
static bool sub(mw_buf_t *b, wasmtime_component_valtype_t *t, int depth) {
  bool ok = val_text(b, t, depth + 1);
  wasmtime_component_valtype_delete(t);
  return ok;
}

static bool val_text(mw_buf_t *b, const wasmtime_component_valtype_t *t,
                     int depth) {
  static const char *const prim[] = {
      "bool", "s8",  "s16", "s32", "s64",  "u8",
      "u16",  "u32", "u64", "f32", "f64",  "char", "string"};
  if (depth > 64) return put(b, "...");
  wasmtime_component_valtype_t inner;
  const char *name;
  size_t nlen;
  bool ok = true;
  switch (t->kind) {
    case WASMTIME_COMPONENT_VALTYPE_LIST:
      wasmtime_component_list_type_element(t->of.list, &inner);
      return put(b, "list<") && sub(b, &inner, depth) && put(b, ">");
    case WASMTIME_COMPONENT_VALTYPE_OPTION:
      wasmtime_component_option_type_ty(t->of.option, &inner);
      return put(b, "option<") && sub(b, &inner, depth) && put(b, ">");
    case WASMTIME_COMPONENT_VALTYPE_RESULT:
      ok = put(b, "result<");
      if (wasmtime_component_result_type_ok(t->of.result, &inner))
        ok = ok && sub(b, &inner, depth);
      else
        ok = ok && put(b, "_");
      ok = ok && put(b, ", ");
      if (wasmtime_component_result_type_err(t->of.result, &inner))
        ok = ok && sub(b, &inner, depth);
      else
        ok = ok && put(b, "_");
      return ok && put(b, ">");
    case WASMTIME_COMPONENT_VALTYPE_RECORD: {
      size_t n = wasmtime_component_record_type_field_count(t->of.record);
      ok = put(b, "record{");
      for (size_t i = 0; ok && i < n; i++) {
        wasmtime_component_record_type_field_nth(t->of.record, i, &name, &nlen,
                                                 &inner);
        ok = (i == 0 || put(b, ", ")) && putn(b, name, nlen) && put(b, ": ") &&
             sub(b, &inner, depth);
      }
      return ok && put(b, "}");
    }
    case WASMTIME_COMPONENT_VALTYPE_TUPLE: {
      size_t n = wasmtime_component_tuple_type_types_count(t->of.tuple);
      ok = put(b, "tuple<");
      for (size_t i = 0; ok && i < n; i++) {
        wasmtime_component_tuple_type_types_nth(t->of.tuple, i, &inner);
        ok = (i == 0 || put(b, ", ")) && sub(b, &inner, depth);
      }
      return ok && put(b, ">");
    }
    case WASMTIME_COMPONENT_VALTYPE_VARIANT: {
      size_t n = wasmtime_component_variant_type_case_count(t->of.variant);
      ok = put(b, "variant{");
      for (size_t i = 0; ok && i < n; i++) {
        bool has;
        wasmtime_component_variant_type_case_nth(t->of.variant, i, &name,
                                                 &nlen, &has, &inner);
        ok = (i == 0 || put(b, ", ")) && putn(b, name, nlen);
        if (has) ok = ok && put(b, "(") && sub(b, &inner, depth) && put(b, ")");
      }
      return ok && put(b, "}");
    }
    case WASMTIME_COMPONENT_VALTYPE_ENUM: {
      size_t n = wasmtime_component_enum_type_names_count(t->of.enum_);
      ok = put(b, "enum{");
      for (size_t i = 0; ok && i < n; i++) {
        wasmtime_component_enum_type_names_nth(t->of.enum_, i, &name, &nlen);
        ok = (i == 0 || put(b, ", ")) && putn(b, name, nlen);
      }
      return ok && put(b, "}");
    }
    case WASMTIME_COMPONENT_VALTYPE_FLAGS: {
      size_t n = wasmtime_component_flags_type_names_count(t->of.flags);
      ok = put(b, "flags{");
      for (size_t i = 0; ok && i < n; i++) {
        wasmtime_component_flags_type_names_nth(t->of.flags, i, &name, &nlen);
        ok = (i == 0 || put(b, ", ")) && putn(b, name, nlen);
      }
      return ok && put(b, "}");
    }
    case WASMTIME_COMPONENT_VALTYPE_OWN:
      return put(b, "own<resource>");
    case WASMTIME_COMPONENT_VALTYPE_BORROW:
      return put(b, "borrow<resource>");
    case WASMTIME_COMPONENT_VALTYPE_FUTURE:
      return put(b, "future");
    case WASMTIME_COMPONENT_VALTYPE_STREAM:
      return put(b, "stream");
    case WASMTIME_COMPONENT_VALTYPE_ERROR_CONTEXT:
      return put(b, "error-context");
    case WASMTIME_COMPONENT_VALTYPE_MAP:
      return put(b, "map");
    default:
      if (t->kind < sizeof prim / sizeof *prim) return put(b, prim[t->kind]);
      return put(b, "?");
  }
}

bool mw__wit_func_text(mw_buf_t *b, const wasmtime_component_func_type_t *f) {
  bool ok = put(b, wasmtime_component_func_type_async(f) ? "async func("
                                                         : "func(");
  size_t n = wasmtime_component_func_type_param_count(f);
  for (size_t i = 0; ok && i < n; i++) {
    const char *name;
    size_t nlen;
    wasmtime_component_valtype_t t;
    if (!wasmtime_component_func_type_param_nth(f, i, &name, &nlen, &t))
      return false;
    ok = (i == 0 || put(b, ", ")) && putn(b, name, nlen) && put(b, ": ") &&
         sub(b, &t, 0);
  }
  ok = ok && put(b, ")");
  wasmtime_component_valtype_t r;
  if (ok && wasmtime_component_func_type_result(f, &r))
    ok = put(b, " -> ") && sub(b, &r, 0);
  return ok;
}
