/*
 * permissions_int.h - the permissions object as the runtime sees it.
 */
#ifndef MW_POLICY_PERMISSIONS_INT_H
#define MW_POLICY_PERMISSIONS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm/permissions.h"

#define MW__LIMIT_COUNT 8

/* One http_allowed_hosts entry: [scheme://]host-or-*.suffix[:port]. */
typedef struct mw_host_rule {
  char *scheme;  /* NULL = http or https */
  char *host;    /* lowercase, no trailing dot; for wildcards the suffix */
  bool wildcard; /* "*.example.com": strict subdomains only */
  uint16_t port; /* 0 = any */
} mw_host_rule_t;

struct mw_permissions {
  bool allow_http, allow_secrets, allow_kv;
  mw_host_rule_t *hosts;
  size_t n_hosts;
  char **secret_names;
  size_t n_secrets;
  char *kv_prefix;
  uint64_t limits[MW__LIMIT_COUNT];
};

/* Whether a request to scheme://host:port is allowed (allow_http and a
 * matching rule). host must already be lowercase without a trailing dot. */
bool mw__permissions_url_allowed(const mw_permissions_t *p, const char *scheme,
                                 const char *host, uint16_t port);

/* host in ASCII: international names converted to punycode (IDNA 2008),
 * so that an allow-list entry and a URL compare the same whichever way each
 * was written. malloc'd; NULL when the name is not valid IDNA. */
char *mw__host_to_ascii(const char *host);

/* Builds the backend key for a guest key: prefix, then the ASCII unit
 * separator, then the key. The separator may appear in neither prefixes nor
 * keys, so one node's keys can never equal another's (prefixes "a:" and
 * "a:b" stay apart). Returns a malloc'd key, or NULL with *why set to a
 * static reason when the key is not acceptable. */
char *mw__kv_full_key(const mw_permissions_t *p, const char *key,
                      size_t key_len, size_t *out_len, const char **why);

#define MW_KV_MAX_KEY_BYTES 512

#endif
