/*
 * kv.c - marie:node/kv: allowed only with allow_kv. The guest's key is
 * placed under the node's kv_prefix (mw__kv_full_key) before any backend
 * sees it, so a node can neither name nor reach another node's keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"
#include "host/val.h"
#include "policy/permissions_int.h"

/* Checks permission and key; returns the backend key or NULL with *why. */
static char *checked_key(mw_exec_t *ex, const char *op,
                         const wasmtime_component_val_t *arg, size_t *klen,
                         char *why, size_t why_size) {
  const char *key, *reason = NULL;
  size_t len;
  if (!mw__get_string(arg, &key, &len)) return NULL;
  if (!mw_permissions_kv_allowed(ex->perms)) {
    snprintf(why, why_size, "kv.%s denied: allow_kv is false", op);
    mw__host_denied(ex, "%s", why);
    return NULL;
  }
  char *full = mw__kv_full_key(ex->perms, key, len, klen, &reason);
  if (!full) snprintf(why, why_size, "kv.%s: %s", op, reason);
  return full;
}

static wasmtime_error_t *kv_get(void *env, wasmtime_context_t *ctx,
                                const wasmtime_component_func_type_t *ty,
                                wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results,
                                size_t nresults) {
  (void)env, (void)ty;
  mw_exec_t *ex = mw__host_call(ctx);
  if (nargs != 1 || nresults != 1 || args[0].kind != WASMTIME_COMPONENT_STRING)
    return mw__bad_args("kv.get");
  mw__val_option(&results[0], NULL);
  char why[256];
  size_t klen;
  char *key = checked_key(ex, "get", &args[0], &klen, why, sizeof why);
  const mw_host_t *h = ex->host;
  if (!key || !h || !h->kv.get) {
    free(key);
    return NULL;
  }
  uint8_t *value = NULL;
  size_t vlen = 0;
  bool found = false;
  mw_error_t *err = h->kv.get(h->kv_ctx, key, klen, &value, &vlen, &found);
  if (err) {
    mw__exec_log(ex, MW_LOG_WARN, MW_LOG_HOST, mw_error_message(err),
                 strlen(mw_error_message(err)));
    mw_error_free(err);
  } else if (found) {
    wasmtime_component_val_t b;
    mw__val_bytes(&b, value, vlen);
    mw__val_option(&results[0], &b);
  }
  free(value);
  free(key);
  return NULL;
}

static wasmtime_error_t *kv_put(void *env, wasmtime_context_t *ctx,
                                const wasmtime_component_func_type_t *ty,
                                wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results,
                                size_t nresults) {
  (void)env, (void)ty;
  mw_exec_t *ex = mw__host_call(ctx);
  if (nargs != 3 || nresults != 1 ||
      args[0].kind != WASMTIME_COMPONENT_STRING ||
      args[1].kind != WASMTIME_COMPONENT_LIST ||
      args[2].kind != WASMTIME_COMPONENT_OPTION)
    return mw__bad_args("kv.put");
  char why[256];
  size_t klen;
  char *key = checked_key(ex, "put", &args[0], &klen, why, sizeof why);
  if (!key) {
    mw__val_result_err(&results[0], why);
    return NULL;
  }
  const mw_host_t *h = ex->host;
  uint8_t *value = NULL;
  size_t vlen = 0;
  int64_t ttl = -1;
  const wasmtime_component_val_t *t = args[2].of.option;
  if (t && t->kind == WASMTIME_COMPONENT_U32) ttl = t->of.u32;
  if (args[1].of.list.size > MW_KV_MAX_VALUE_BYTES) {
    mw__val_result_err(&results[0], "kv.put: value larger than 1 MiB");
  } else if (!mw__get_bytes(&args[1], &value, &vlen)) {
    free(key);
    return mw__bad_args("kv.put");
  } else if (!h || !h->kv.put) {
    mw__val_result_err(&results[0], "kv.put: no key-value backend configured");
  } else {
    mw_error_t *err = h->kv.put(h->kv_ctx, key, klen, value, vlen, ttl);
    if (err) {
      mw__val_result_err(&results[0], mw_error_message(err));
      mw_error_free(err);
    } else {
      mw__val_result(&results[0], true, NULL);
    }
  }
  free(value);
  free(key);
  return NULL;
}

static wasmtime_error_t *kv_delete(void *env, wasmtime_context_t *ctx,
                                   const wasmtime_component_func_type_t *ty,
                                   wasmtime_component_val_t *args,
                                   size_t nargs,
                                   wasmtime_component_val_t *results,
                                   size_t nresults) {
  (void)env, (void)ty;
  mw_exec_t *ex = mw__host_call(ctx);
  if (nargs != 1 || nresults != 1 || args[0].kind != WASMTIME_COMPONENT_STRING)
    return mw__bad_args("kv.delete");
  char why[256];
  size_t klen;
  char *key = checked_key(ex, "delete", &args[0], &klen, why, sizeof why);
  const mw_host_t *h = ex->host;
  if (!key) {
    mw__val_result_err(&results[0], why);
  } else if (!h || !h->kv.del) {
    mw__val_result_err(&results[0], "kv.delete: no key-value backend configured");
  } else {
    mw_error_t *err = h->kv.del(h->kv_ctx, key, klen);
    if (err) {
      mw__val_result_err(&results[0], mw_error_message(err));
      mw_error_free(err);
    } else {
      mw__val_result(&results[0], true, NULL);
    }
  }
  free(key);
  return NULL;
}

mw_error_t *mw__define_kv(wasmtime_component_linker_t *linker) {
  static const mw_host_func_t funcs[] = {
      {"get", kv_get}, {"put", kv_put}, {"delete", kv_delete}};
  return mw__define_interface(linker, "marie:node/kv@1.0.0", funcs, 3);
}
