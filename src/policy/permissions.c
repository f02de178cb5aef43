/*
 * permissions.c - the permissions object: defaults, setters, JSON parsing
 * and the checks the host interfaces make before any backend runs.
 *
 * Deny by default: every capability starts off, and allow-lists start
 * empty, granting nothing.
 */
#include "policy/permissions_int.h"

#include <ctype.h>
#include <idn2.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error_int.h"

static const struct {
  const char *name;
  uint64_t def, min, max;
} limit_info[MW__LIMIT_COUNT] = {
    [MW_LIMIT_MAX_MEMORY_MB] = {"max_memory_mb", 64, 1, 65536},
    [MW_LIMIT_MAX_FUEL] = {"max_fuel", 1000000000ull, 1, UINT64_MAX},
    [MW_LIMIT_TIMEOUT_MS] = {"timeout_ms", 30000, 1, 24ull * 3600 * 1000},
    [MW_LIMIT_MAX_OUTPUT_ITEMS] = {"max_output_items", 10000, 0, 100000000},
    /* Below 2^32 - 1: any one item's length fits mw_result_pack's u32
     * fields and never reads as MW_PACKED_NONE. */
    [MW_LIMIT_MAX_OUTPUT_BYTES] = {"max_output_bytes", 16u << 20, 0,
                                   (1ull << 32) - 2},
    [MW_LIMIT_MAX_LOG_BYTES] = {"max_log_bytes", 1u << 20, 0, 1ull << 30},
    [MW_LIMIT_MAX_EVENTS] = {"max_events", 1000, 0, 10000000},
    [MW_LIMIT_MAX_HTTP_REQUESTS] = {"max_http_requests", 32, 0, 100000},
};

mw_permissions_t *mw_permissions_new(void) {
  mw_permissions_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  for (int i = 0; i < MW__LIMIT_COUNT; i++) p->limits[i] = limit_info[i].def;
  return p;
}

void mw_permissions_free(mw_permissions_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_hosts; i++) {
    free(p->hosts[i].scheme);
    free(p->hosts[i].host);
  }
  free(p->hosts);
  for (size_t i = 0; i < p->n_secrets; i++) free(p->secret_names[i]);
  free(p->secret_names);
  free(p->kv_prefix);
  free(p);
}

void mw_permissions_allow_http(mw_permissions_t *p, bool on) {
  if (p) p->allow_http = on;
}
void mw_permissions_allow_secrets(mw_permissions_t *p, bool on) {
  if (p) p->allow_secrets = on;
}
void mw_permissions_allow_kv(mw_permissions_t *p, bool on) {
  if (p) p->allow_kv = on;
}

/* Lowercases s in place and drops one trailing dot. */
static void normalize_host(char *s) {
  for (char *c = s; *c; c++) *c = (char)tolower((unsigned char)*c);
  size_t n = strlen(s);
  if (n > 1 && s[n - 1] == '.') s[n - 1] = '\0';
}

char *mw__host_to_ascii(const char *host) {
  bool ascii = true;
  for (const char *c = host; *c; c++)
    if ((unsigned char)*c >= 0x80) ascii = false;
  if (ascii) return strdup(host);
  /* IDNA 2008 (libidn2), locale-independent: UTF-8 in, punycode out. */
  char *out = NULL;
  if (idn2_lookup_u8((const uint8_t *)host, (uint8_t **)&out,
                     IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
    return NULL;
  char *copy = strdup(out);
  idn2_free(out);
  return copy;
}

static bool to_punycode(char **host) {
  char *a = mw__host_to_ascii(*host);
  if (!a) return false;
  free(*host);
  *host = a;
  normalize_host(*host);
  return true;
}

/* A DNS name: at most 253 bytes, labels of 1 to 63 bytes of letters,
 * digits, '-', '_' (international names arrive here in punycode). */
static bool valid_host_chars(const char *s) {
  size_t n = strlen(s), label = 0;
  if (n == 0 || n > 253) return false;
  for (const char *c = s; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if (u == '.') {
      if (label == 0) return false; /* empty label: ".a", "a..b" */
      label = 0;
      continue;
    }
    if (!(isalnum(u) || u == '-' || u == '_') || ++label > 63)
      return false;
  }
  return label > 0;
}

/* An IPv6 literal as curl_url reports it: "[" hex digits, ':' and '.' "]". */
static bool valid_ipv6_literal(const char *s) {
  size_t n = strlen(s);
  if (n < 4 || n > 64 || s[0] != '[' || s[n - 1] != ']') return false;
  for (size_t i = 1; i + 1 < n; i++)
    if (!(isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'))
      return false;
  return true;
}

/* Parses "[scheme://]host[:port]", "[scheme://]*.suffix[:port]" or
 * "[scheme://][ipv6][:port]". */
static mw_error_t *parse_host_rule(const char *entry, mw_host_rule_t *out) {
  memset(out, 0, sizeof *out);
  const char *s = entry;
  const char *sep = strstr(s, "://");
  if (sep) {
    size_t n = (size_t)(sep - s);
    if (!((n == 4 && !strncasecmp(s, "http", 4)) ||
          (n == 5 && !strncasecmp(s, "https", 5))))
      return mw_error_new(MW_ERR_INPUT,
                          "http_allowed_hosts: '%s': only http and https "
                          "schemes are allowed",
                          entry);
    out->scheme = strndup(s, n);
    if (!out->scheme) return mw__nomem();
    for (char *c = out->scheme; *c; c++) *c = (char)tolower((unsigned char)*c);
    s = sep + 3;
  }
  const char *host_end = s[0] == '[' ? strchr(s, ']') : NULL;
  const char *colon = strchr(host_end ? host_end : s, ':');
  size_t host_len = colon ? (size_t)(colon - s) : strlen(s);
  if (colon) {
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port == 0 || port > 65535) goto bad;
    out->port = (uint16_t)port;
  }
  if (host_len >= 2 && s[0] == '*' && s[1] == '.') {
    out->wildcard = true;
    s += 2;
    host_len -= 2;
  }
  out->host = strndup(s, host_len);
  if (!out->host) {
    free(out->scheme);
    return mw__nomem();
  }
  normalize_host(out->host);
  if (out->host[0] != '[' && !to_punycode(&out->host)) goto bad;
  /* A bare "*" or a pattern with path, userinfo or more wildcards would be
   * ambiguous: refuse it rather than guess. */
  if (out->host[0] == '[' ? out->wildcard || !valid_ipv6_literal(out->host)
                          : !valid_host_chars(out->host))
    goto bad;
  return NULL;
bad:
  free(out->scheme);
  free(out->host);
  memset(out, 0, sizeof *out);
  return mw_error_new(MW_ERR_INPUT,
                      "http_allowed_hosts: '%s' is not a host pattern "
                      "(expected host, *.domain or [ipv6], optional scheme:// "
                      "and :port)",
                      entry);
}

mw_error_t *mw_permissions_add_http_host(mw_permissions_t *p,
                                         const char *host) {
  if (!p || !host) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  mw_host_rule_t rule;
  mw_error_t *err = parse_host_rule(host, &rule);
  if (err) return err;
  mw_host_rule_t *h = realloc(p->hosts, (p->n_hosts + 1) * sizeof *h);
  if (!h) {
    free(rule.scheme);
    free(rule.host);
    return mw__nomem();
  }
  p->hosts = h;
  p->hosts[p->n_hosts++] = rule;
  return NULL;
}

mw_error_t *mw_permissions_add_secret_name(mw_permissions_t *p,
                                           const char *name) {
  if (!p || !name) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  if (!*name)
    return mw_error_new(MW_ERR_INPUT, "secret_allowed_names: empty name");
  char **v = realloc(p->secret_names, (p->n_secrets + 1) * sizeof *v);
  if (!v) return mw__nomem();
  p->secret_names = v;
  if (!(v[p->n_secrets] = strdup(name))) return mw__nomem();
  p->n_secrets++;
  return NULL;
}

static bool has_control_char(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return true;
  return false;
}

mw_error_t *mw_permissions_set_kv_prefix(mw_permissions_t *p,
                                         const char *prefix) {
  if (!p || !prefix) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  size_t n = strlen(prefix);
  if (n > 256 || has_control_char(prefix, n))
    return mw_error_new(MW_ERR_INPUT,
                        "kv_prefix: at most 256 bytes, no control characters");
  char *d = strdup(prefix);
  if (!d) return mw__nomem();
  free(p->kv_prefix);
  p->kv_prefix = d;
  return NULL;
}

mw_error_t *mw_permissions_set_limit(mw_permissions_t *p, mw_limit_t which,
                                     uint64_t value) {
  if (!p || (unsigned)which >= MW__LIMIT_COUNT)
    return mw_error_new(MW_ERR_MISUSE, "unknown limit %d", (int)which);
  if (value < limit_info[which].min || value > limit_info[which].max)
    return mw_error_new(MW_ERR_INPUT,
                        "%s: %llu is out of range (%llu to %llu)",
                        limit_info[which].name, (unsigned long long)value,
                        (unsigned long long)limit_info[which].min,
                        (unsigned long long)limit_info[which].max);
  p->limits[which] = value;
  return NULL;
}

uint64_t mw_permissions_limit(const mw_permissions_t *p, mw_limit_t which) {
  if (!p || (unsigned)which >= MW__LIMIT_COUNT) return 0;
  return p->limits[which];
}

/* ---- checks ------------------------------------------------------------ */

static bool rule_matches(const mw_host_rule_t *r, const char *scheme,
                         const char *host, uint16_t port) {
  if (r->scheme && strcmp(r->scheme, scheme) != 0) return false;
  if (r->port && r->port != port) return false;
  if (!r->wildcard) return strcmp(r->host, host) == 0;
  /* "*.example.com" matches "a.example.com", not "example.com" nor
   * "evil-example.com": the byte before the suffix must be a dot. */
  size_t hl = strlen(host), sl = strlen(r->host);
  return hl > sl + 1 && host[hl - sl - 1] == '.' &&
         strcmp(host + hl - sl, r->host) == 0;
}

bool mw__permissions_url_allowed(const mw_permissions_t *p, const char *scheme,
                                 const char *host, uint16_t port) {
  if (!p || !p->allow_http) return false;
  for (size_t i = 0; i < p->n_hosts; i++)
    if (rule_matches(&p->hosts[i], scheme, host, port)) return true;
  return false; /* an empty allow-list grants nothing */
}

bool mw_permissions_http_host_allowed(const mw_permissions_t *p,
                                      const char *host) {
  if (!p || !host) return false;
  char *h = strdup(host);
  if (!h) return false;
  normalize_host(h);
  bool ok = false;
  if (p->allow_http)
    for (size_t i = 0; i < p->n_hosts && !ok; i++) {
      const mw_host_rule_t *r = &p->hosts[i];
      mw_host_rule_t any = *r;
      any.scheme = NULL;
      any.port = 0;
      ok = rule_matches(&any, "", h, 0);
    }
  free(h);
  return ok;
}

bool mw_permissions_secret_allowed(const mw_permissions_t *p,
                                   const char *name) {
  if (!p || !name || !p->allow_secrets) return false;
  for (size_t i = 0; i < p->n_secrets; i++)
    if (strcmp(p->secret_names[i], name) == 0) return true;
  return false;
}

bool mw_permissions_kv_allowed(const mw_permissions_t *p) {
  return p && p->allow_kv;
}

const char *mw_permissions_kv_prefix(const mw_permissions_t *p) {
  return p && p->kv_prefix ? p->kv_prefix : "";
}

char *mw__kv_full_key(const mw_permissions_t *p, const char *key,
                      size_t key_len, size_t *out_len, const char **why) {
  if (key_len == 0) {
    *why = "empty key";
    return NULL;
  }
  if (key_len > MW_KV_MAX_KEY_BYTES) {
    *why = "key longer than 512 bytes";
    return NULL;
  }
  if (has_control_char(key, key_len)) {
    *why = "key contains a control character";
    return NULL;
  }
  const char *prefix = mw_permissions_kv_prefix(p);
  size_t pl = strlen(prefix);
  char *full = malloc(pl + 1 + key_len + 1);
  if (!full) {
    *why = "out of memory";
    return NULL;
  }
  memcpy(full, prefix, pl);
  full[pl] = '\x1f';
  memcpy(full + pl + 1, key, key_len);
  full[pl + 1 + key_len] = '\0';
  *out_len = pl + 1 + key_len;
  return full;
}
