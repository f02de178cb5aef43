/*
 * secrets.c - secrets that come with an execute request.
 *
 * The host (and its KV and HTTP backends) is shared by all executions, but
 * each request brings its own secrets. mw_execute runs the guest, and so
 * every host call, on the calling thread, so the provider finds the
 * request's secrets in a thread-local set around mw_execute. Values are never
 * copied anywhere else and never logged; the runtime redacts what a node
 * read from its logs and events.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static _Thread_local const json_t *current;

static mw_error_t *get_secret(void *ctx, const char *name, char **out_value) {
  (void)ctx;
  *out_value = NULL;
  json_t *v = current ? json_object_get(current, name) : NULL;
  if (!json_is_string(v)) return NULL; /* absent */
  size_t n = json_string_length(v);
  char *copy = malloc(n + 1);
  if (!copy) return mw_error_new(MW_ERR_NOMEM, "out of memory");
  memcpy(copy, json_string_value(v), n);
  copy[n] = '\0';
  *out_value = copy;
  return NULL;
}

void srv_secrets_install(mw_host_t *host) {
  static const mw_secrets_vtable_t vt = {get_secret};
  mw_host_set_secrets(host, &vt, NULL, NULL);
}

void srv_secrets_begin(const json_t *secrets) { current = secrets; }

void srv_secrets_end(void) { current = NULL; }
