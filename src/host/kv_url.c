/*
 * kv_url.c - choosing a built-in key-value backend by URL, and the limits
 * every built-in backend enforces.
 *
 * The URL grammar is deliberately narrow; anything that could be read two
 * ways is refused with MW_ERR_INPUT naming the URL:
 *   memory:                  exactly that text
 *   sqlite:///abs/path.db    an absolute path; no host, no query, no '%'
 *                            escapes. "sqlite://rel/path" is refused: in URL
 *                            syntax "rel" would be a host, and a relative
 *                            path would depend on the working directory.
 *   redis://host[:port][/db] host name, IPv4 or [IPv6]; port 6379 and db 0
 *                            by default. No user or password (refused, and
 *                            redacted from the message), no TLS, no query.
 *
 * Limits (mw_kv_limits_t): a field left 0 takes its default. The key limit
 * counts the bytes after the namespace, i.e. the key the guest named; the
 * per-namespace count counts live keys (an overwrite does not add one). The
 * helpers below give every backend the same checks and the same messages,
 * which the guest sees as its err.
 *
 * The mw__kv_* functions (kv_int.h) are shared by the kv_*.c backends.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "host/host_int.h"
#include "host/kv_int.h"
#include "util/error_int.h"


#define DEFAULT_MAX_KEY_BYTES 512u
#define DEFAULT_MAX_VALUE_BYTES (1u << 20)
#define DEFAULT_MAX_KEYS_PER_PREFIX 10000u
#define DEFAULT_TIMEOUT_MS 2000u
#define MAX_URL_BYTES 4096u
#define MW__KV_MAX_TTL_S (100ll * 366 * 24 * 3600) /* a century */

void mw_kv_limits_init(mw_kv_limits_t *limits) {
  if (!limits) return;
  limits->max_key_bytes = DEFAULT_MAX_KEY_BYTES;
  limits->max_value_bytes = DEFAULT_MAX_VALUE_BYTES;
  limits->max_keys_per_prefix = DEFAULT_MAX_KEYS_PER_PREFIX;
  limits->timeout_ms = DEFAULT_TIMEOUT_MS;
}

/* ---- limits shared by the backends --------------------------------------- */

/* A copy of in (NULL: defaults) with zero fields replaced by defaults. */
void mw__kv_limits_resolve(const mw_kv_limits_t *in, mw_kv_limits_t *out) {
  mw_kv_limits_t d;
  mw_kv_limits_init(&d);
  *out = in ? *in : d;
  if (!out->max_key_bytes) out->max_key_bytes = d.max_key_bytes;
  if (!out->max_value_bytes) out->max_value_bytes = d.max_value_bytes;
  if (!out->max_keys_per_prefix)
    out->max_keys_per_prefix = d.max_keys_per_prefix;
  if (!out->timeout_ms) out->timeout_ms = d.timeout_ms;
}

/* Bytes of key before the first 0x1f: the namespace quotas count. A key
 * without a separator belongs to the empty namespace. */
size_t mw__kv_ns_len(const char *key, size_t key_len) {
  const char *sep = memchr(key, '\x1f', key_len);
  return sep ? (size_t)(sep - key) : 0;
}

/* The guest's part of key: what follows the separator. */
static size_t user_key_len(const char *key, size_t key_len) {
  const char *sep = memchr(key, '\x1f', key_len);
  return sep ? key_len - (size_t)(sep - key) - 1 : key_len;
}

/* True when key is longer than the limit allows: such a key can never have
 * been stored, so get and delete answer without asking the backend. */
bool mw__kv_key_too_long(const mw_kv_limits_t *l, const char *key,
                         size_t key_len) {
  return user_key_len(key, key_len) > l->max_key_bytes;
}

/* The checks of a put that need no backend: key and value sizes. */
mw_error_t *mw__kv_check_put(const mw_kv_limits_t *l, const char *key,
                             size_t key_len, size_t value_len) {
  size_t uk = user_key_len(key, key_len);
  if (uk > l->max_key_bytes)
    return mw_error_new(MW_ERR_LIMIT,
                        "kv quota: key is %zu bytes, at most %u allowed", uk,
                        l->max_key_bytes);
  if (value_len > l->max_value_bytes)
    return mw_error_new(MW_ERR_LIMIT,
                        "kv quota: value is %zu bytes, at most %u allowed",
                        value_len, l->max_value_bytes);
  return NULL;
}

/* The error of a put that would exceed the namespace's key count. */
mw_error_t *mw__kv_quota_error(const mw_kv_limits_t *l) {
  return mw_error_new(MW_ERR_LIMIT,
                      "kv quota: at most %llu keys per node; delete keys or "
                      "let them expire",
                      (unsigned long long)l->max_keys_per_prefix);
}

/* Milliseconds since the Unix epoch: expiry times are wall-clock so that
 * they mean the same across processes sharing a store. */
int64_t mw__kv_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The expiry time of a put made at now_ms with ttl_seconds: 0 for no expiry
 * (ttl < 0). TTLs beyond MW__KV_MAX_TTL_S are clamped so the sum cannot
 * overflow; callers handle ttl 0 (delete) before asking. */
int64_t mw__kv_expiry_ms(int64_t now_ms, int64_t ttl_seconds) {
  if (ttl_seconds < 0) return 0;
  if (ttl_seconds > MW__KV_MAX_TTL_S) ttl_seconds = MW__KV_MAX_TTL_S;
  return now_ms + ttl_seconds * 1000;
}

/* ---- URL parsing --------------------------------------------------------- */

/* The URL as it may appear in a message: a user:password part is replaced,
 * so a refused URL cannot leak a credential into logs. */
static void display_url(const char *url, char *out, size_t size) {
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
  const char *slash = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
  if (at && (!slash || at < slash))
    snprintf(out, size, "%.*s://***@%s", (int)(scheme_end - url), url, at + 1);
  else
    snprintf(out, size, "%s", url);
}

static mw_error_t *bad_url(const char *url, const char *why) {
  char shown[256];
  display_url(url, shown, sizeof shown);
  return mw_error_new(MW_ERR_INPUT, "kv URL '%s': %s", shown, why);
}

static bool has_prefix_nocase(const char *s, const char *prefix) {
  return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static mw_error_t *parse_sqlite(const char *url, const char *rest,
                                const mw_kv_limits_t *l, mw_host_t *host) {
  if (rest[0] != '/')
    return bad_url(url,
                   "the path must be absolute (sqlite:///path/to/kv.db); "
                   "'sqlite://' followed by a name would make it a host, and "
                   "relative paths are refused");
  if (rest[1] == '/')
    return bad_url(url, "the path must start with exactly one '/'");
  /* No query, fragment or escapes: the text after "sqlite://" is the path
   * as written, so what is opened is what the operator sees. */
  if (strpbrk(rest, "?#%"))
    return bad_url(url, "'?', '#' and '%' are not allowed in the path");
  size_t n = strlen(rest);
  if (n < 2 || rest[n - 1] == '/')
    return bad_url(url, "the path names a directory, not a database file");
  return mw__kv_use_sqlite(host, rest, l);
}

/* Parses digits s[0..n) as an integer in [lo, hi]. */
static bool parse_uint(const char *s, size_t n, long lo, long hi, int *out) {
  long v = 0;
  if (n == 0 || n > 9) return false;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi) return false;
  *out = (int)v;
  return true;
}

static bool valid_hostname(const char *s, size_t n) {
  if (n == 0 || n > 253) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(isalnum(c) || c == '-' || c == '.' || c == '_')) return false;
  }
  return true;
}

static bool valid_ipv6(const char *s, size_t n) {
  if (n < 2 || n > 45) return false;
  for (size_t i = 0; i < n; i++)
    if (!(isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'))
      return false;
  return true;
}

static mw_error_t *parse_redis(const char *url, const char *rest,
                               const mw_kv_limits_t *l, mw_host_t *host) {
  char hostname[256];
  int port = 6379, db = 0;
  if (strpbrk(rest, "?#"))
    return bad_url(url, "query and fragment are not supported");
  const char *path = strchr(rest, '/');
  size_t auth_len = path ? (size_t)(path - rest) : strlen(rest);
  if (memchr(rest, '@', auth_len))
    return bad_url(url, "user and password in the URL are not supported");
  const char *h = rest, *port_s = NULL;
  size_t hn;
  if (*h == '[') { /* [IPv6] */
    const char *close = memchr(h, ']', auth_len);
    if (!close) return bad_url(url, "unterminated '[' in the host");
    hn = (size_t)(close - h - 1);
    if (!valid_ipv6(h + 1, hn)) return bad_url(url, "bad IPv6 address");
    h++;
    if (close + 1 < rest + auth_len) {
      if (close[1] != ':') return bad_url(url, "junk after ']'");
      port_s = close + 2;
    }
  } else {
    const char *colon = memchr(h, ':', auth_len);
    hn = colon ? (size_t)(colon - h) : auth_len;
    if (!valid_hostname(h, hn))
      return bad_url(url, "the host must be a name or an IP address");
    if (colon) port_s = colon + 1;
  }
  if (port_s &&
      !parse_uint(port_s, (size_t)(rest + auth_len - port_s), 1, 65535, &port))
    return bad_url(url, "the port must be a number from 1 to 65535");
  if (path && path[1] != '\0' &&
      !parse_uint(path + 1, strlen(path + 1), 0, 1000000, &db))
    return bad_url(url, "the path must be a database number (redis://host:port/0)");
  memcpy(hostname, h, hn);
  hostname[hn] = '\0';
  return mw__kv_use_redis(host, hostname, port, db, l);
}

mw_error_t *mw_host_use_kv_url(mw_host_t *host, const char *url,
                               const mw_kv_limits_t *limits) {
  if (!host || !url) return mw_error_new(MW_ERR_MISUSE, "NULL host or URL");
  if (strlen(url) > MAX_URL_BYTES)
    return mw_error_new(MW_ERR_INPUT, "kv URL: longer than %u bytes",
                        MAX_URL_BYTES);
  for (const char *c = url; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ' ')
      return bad_url(url, "contains a space or control character");
  mw_kv_limits_t l;
  mw__kv_limits_resolve(limits, &l);
  if (strcasecmp(url, "memory:") == 0) return mw__kv_use_memory(host, &l);
  if (has_prefix_nocase(url, "sqlite://"))
    return parse_sqlite(url, url + 9, &l, host);
  if (has_prefix_nocase(url, "redis://"))
    return parse_redis(url, url + 8, &l, host);
  if (has_prefix_nocase(url, "rediss://"))
    return bad_url(url, "TLS to Redis (rediss://) is not supported");
  if (has_prefix_nocase(url, "sqlite:"))
    return bad_url(url, "expected sqlite:///absolute/path.db");
  if (has_prefix_nocase(url, "memory:"))
    return bad_url(url, "expected exactly 'memory:'");
  return bad_url(url,
                 "unknown scheme; expected memory:, sqlite:///path/to/kv.db "
                 "or redis://host:port/db");
}
