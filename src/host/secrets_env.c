/*
 * secrets_env.c - the built-in secrets backend that reads environment
 * variables: with prefix "MW_SECRET_", variable MW_SECRET_API_KEY is the
 * secret API_KEY.
 *
 * The variables are copied once, when the provider is installed, not read
 * at each lookup. getenv() is not safe against a concurrent setenv() or
 * putenv() and lookups run on the executing threads, so reading the
 * environment there would make every embedder that ever touches its
 * environment racy; a snapshot is immutable and so thread-safe. The price:
 * a changed variable takes effect when the provider is installed again.
 * Installing still reads `environ`, so do that while no other thread
 * modifies the environment.
 *
 * Values must be valid UTF-8 (a WIT string cannot carry anything else) and
 * the copies are wiped when the host is freed.
 */
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host_int.h"
#include "util/error_int.h"
#include "util/utf8.h"

#define MAX_NAME_BYTES 256
#define MAX_PREFIX_BYTES 256

typedef struct env_secret {
  char *name; /* without the prefix */
  char *value;
} env_secret_t;

typedef struct env_secrets {
  env_secret_t *items;
  size_t count;
} env_secrets_t;

static void env_free(void *ctx) {
  env_secrets_t *m = ctx;
  if (!m) return;
  for (size_t i = 0; i < m->count; i++) {
    free(m->items[i].name);
    /* The copy is the secret itself: do not leave it in freed memory. */
    OPENSSL_cleanse(m->items[i].value, strlen(m->items[i].value));
    free(m->items[i].value);
  }
  free(m->items);
  free(m);
}

static mw_error_t *env_get(void *ctx, const char *name, char **out) {
  const env_secrets_t *m = ctx;
  *out = NULL;
  for (size_t i = 0; i < m->count; i++) {
    if (strcmp(m->items[i].name, name) != 0) continue;
    if (!(*out = strdup(m->items[i].value))) return mw__nomem();
    return NULL;
  }
  return NULL;
}

/* Adds `entry` ("PREFIXNAME=value") to m; entries that are not secrets
 * (wrong prefix, no '=', empty or overlong name) are skipped. */
static mw_error_t *env_add(env_secrets_t *m, const char *entry,
                           const char *prefix, size_t plen, size_t *cap) {
  if (strncmp(entry, prefix, plen) != 0) return NULL;
  const char *name = entry + plen;
  const char *eq = strchr(name, '=');
  if (!eq || eq == name || (size_t)(eq - name) > MAX_NAME_BYTES) return NULL;
  size_t nlen = (size_t)(eq - name);
  /* getenv() returns the first of duplicate entries: keep the first too. */
  for (size_t i = 0; i < m->count; i++)
    if (strlen(m->items[i].name) == nlen &&
        memcmp(m->items[i].name, name, nlen) == 0)
      return NULL;
  const char *value = eq + 1;
  /* The value would abort the process when handed to the guest as a
   * string; say which variable (never its value). */
  if (!mw__utf8_valid((const unsigned char *)value, strlen(value)))
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: environment variable %s%.*s: value is not "
                        "valid UTF-8",
                        prefix, (int)nlen, name);
  if (m->count == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    env_secret_t *v = realloc(m->items, ncap * sizeof *v);
    if (!v) return mw__nomem();
    m->items = v;
    *cap = ncap;
  }
  env_secret_t *it = &m->items[m->count];
  it->name = strndup(name, nlen);
  it->value = strdup(value);
  if (!it->name || !it->value) {
    free(it->name);
    free(it->value);
    return mw__nomem();
  }
  m->count++;
  return NULL;
}

mw_error_t *mw_host_use_secrets_env(mw_host_t *host, const char *prefix) {
  if (!host || !prefix) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  size_t plen = strlen(prefix);
  /* An empty prefix would hand every environment variable (PATH, HOME,
   * credentials of the embedder) to any node allowed the name. */
  if (plen == 0)
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: the environment prefix must not be empty "
                        "(it would expose the whole environment)");
  if (plen > MAX_PREFIX_BYTES || strchr(prefix, '='))
    return mw_error_new(MW_ERR_INPUT,
                        "secrets: environment prefix must be at most %d bytes "
                        "without '='",
                        MAX_PREFIX_BYTES);
  env_secrets_t *m = calloc(1, sizeof *m);
  if (!m) return mw__nomem();
  mw_error_t *err = NULL;
  size_t cap = 0;
  for (char **e = environ; e && *e; e++)
    if ((err = env_add(m, *e, prefix, plen, &cap))) goto out;
  static const mw_secrets_vtable_t vt = {env_get};
  mw_host_set_secrets(host, &vt, m, env_free);
  m = NULL;
out:
  env_free(m);
  return err;
}
