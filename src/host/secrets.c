/*
 * secrets.c - marie:node/secrets: a secret is returned only when the
 * permissions allow secrets and name it; otherwise the guest gets `none`,
 * exactly as for a secret that does not exist, and the host logs the denial.
 * An allowed name is looked up in the request's own secrets first, then in
 * the host's provider.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"
#include "host/val.h"

static wasmtime_error_t *secrets_get(void *env, wasmtime_context_t *ctx,
                                     const wasmtime_component_func_type_t *ty,
                                     wasmtime_component_val_t *args,
                                     size_t nargs,
                                     wasmtime_component_val_t *results,
                                     size_t nresults) {
  (void)env, (void)ty;
  mw_exec_t *ex = mw__host_call(ctx);
  const char *name;
  size_t len;
  if (nargs != 1 || nresults != 1 || !mw__get_string(&args[0], &name, &len))
    return mw__bad_args("secrets.get");
  mw__val_option(&results[0], NULL);
  /* A name with a NUL could match a shorter allowed name: refuse it. */
  if (memchr(name, '\0', len) || len > 256) {
    mw__host_denied(ex, "secrets.get: invalid secret name");
    return NULL;
  }
  char *cname = strndup(name, len);
  if (!cname) return wasmtime_error_new("out of memory");
  if (!mw_permissions_secret_allowed(ex->perms, cname)) {
    mw__host_denied(ex,
                    "secrets.get('%s') denied: needs allow_secrets and the "
                    "name in secret_allowed_names",
                    cname);
    free(cname);
    return NULL;
  }
  char *value = NULL;
  const mw_host_t *h = ex->host;
  const char *own = mw__request_secret(ex->req, cname);
  if (own) {
    if (!(value = strdup(own))) {
      free(cname);
      return wasmtime_error_new("out of memory");
    }
  } else if (h && h->secrets.get) {
    mw_error_t *err = h->secrets.get(h->secrets_ctx, cname, &value);
    if (err) {
      mw__host_denied(ex, "secrets.get('%s') failed: %s", cname,
                      mw_error_message(err));
      mw_error_free(err);
      value = NULL;
    }
  }
  if (value) {
    mw__exec_note_secret(ex, value);
    wasmtime_component_val_t s;
    mw__val_string(&s, value, strlen(value));
    mw__val_option(&results[0], &s);
    OPENSSL_cleanse(value, strlen(value));
    free(value);
  }
  free(cname);
  return NULL;
}

mw_error_t *mw__define_secrets(wasmtime_component_linker_t *linker) {
  static const mw_host_func_t funcs[] = {{"get", secrets_get}};
  return mw__define_interface(linker, "marie:node/secrets@1.0.0", funcs, 1);
}
