/*
 * kv_memory.c - the built-in in-memory key-value backend ("memory:"): one
 * mutex around two hash tables, keys and namespaces.
 *
 * Each namespace (the bytes before the key's first 0x1f) keeps a count of
 * its keys and a list of them, so the per-namespace quota is checked in
 * O(1) and, only when a namespace is full, its own expired keys are swept
 * before refusing: expiry never leaves a node locked out by dead keys.
 * Expired entries are never returned and are removed when met. TTLs are in
 * milliseconds of wall-clock time; a TTL of 0 removes the key at once.
 * The whole store is capped (entries and bytes) as a last line of defence.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"
#include "host/kv_int.h"
#include "util/error_int.h"


#define MIN_BUCKETS 256u
#define MAX_BUCKETS (1u << 20)
#define MAX_ENTRIES 1000000u
#define MAX_TOTAL_BYTES (1ull << 30)

/* The head shared by both tables' nodes: a hash chain and a byte key. */
typedef struct node {
  struct node *next;
  char *key;
  size_t key_len;
} node_t;

typedef struct table {
  node_t **b;
  size_t n; /* buckets, a power of two */
  size_t count;
} table_t;

typedef struct ns ns_t;

typedef struct entry {
  node_t h; /* first: an entry_t * is a node_t * */
  uint8_t *value;
  size_t len;
  int64_t expires_ms; /* 0: never */
  ns_t *ns;
  struct entry *ns_prev, *ns_next;
} entry_t;

struct ns {
  node_t h;
  uint64_t count;
  int64_t earliest_ms; /* no entry expires before this; INT64_MAX: none */
  entry_t *entries;
};

typedef struct memkv {
  pthread_mutex_t lock;
  mw_kv_limits_t limits;
  table_t keys, spaces;
  uint64_t bytes; /* keys and values stored */
} memkv_t;

/* ---- hash tables ---------------------------------------------------------- */

static size_t hash(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
  return (size_t)h;
}

static bool table_init(table_t *t) {
  t->b = calloc(MIN_BUCKETS, sizeof *t->b);
  t->n = MIN_BUCKETS;
  t->count = 0;
  return t->b != NULL;
}

/* The link pointing at key's node, or at the NULL ending its chain. */
static node_t **table_slot(table_t *t, const char *key, size_t n) {
  node_t **pp = &t->b[hash(key, n) & (t->n - 1)];
  while (*pp && !((*pp)->key_len == n && memcmp((*pp)->key, key, n) == 0))
    pp = &(*pp)->next;
  return pp;
}

/* Doubles the buckets when chains get long; a failed allocation only
 * leaves the table slower. */
static void table_maybe_grow(table_t *t) {
  if (t->count < 2 * t->n || t->n >= MAX_BUCKETS) return;
  size_t n = t->n * 2;
  node_t **b = calloc(n, sizeof *b);
  if (!b) return;
  for (size_t i = 0; i < t->n; i++)
    for (node_t *e = t->b[i], *next; e; e = next) {
      next = e->next;
      size_t j = hash(e->key, e->key_len) & (n - 1);
      e->next = b[j];
      b[j] = e;
    }
  free(t->b);
  t->b = b;
  t->n = n;
}

static void table_insert(table_t *t, node_t *e) {
  size_t i = hash(e->key, e->key_len) & (t->n - 1);
  e->next = t->b[i];
  t->b[i] = e;
  t->count++;
  table_maybe_grow(t);
}

/* ---- entries and namespaces (the caller holds the lock) ------------------ */

static void remove_entry(memkv_t *kv, node_t **slot) {
  entry_t *e = (entry_t *)*slot;
  ns_t *ns = e->ns;
  *slot = e->h.next;
  kv->keys.count--;
  kv->bytes -= e->h.key_len + e->len;
  if (e->ns_prev) e->ns_prev->ns_next = e->ns_next;
  else ns->entries = e->ns_next;
  if (e->ns_next) e->ns_next->ns_prev = e->ns_prev;
  if (--ns->count == 0) {
    node_t **np = table_slot(&kv->spaces, ns->h.key, ns->h.key_len);
    *np = ns->h.next;
    kv->spaces.count--;
    free(ns->h.key);
    free(ns);
  }
  free(e->h.key);
  free(e->value);
  free(e);
}

static bool expired(const entry_t *e, int64_t now) {
  return e->expires_ms && e->expires_ms <= now;
}

/* The slot of key's live entry (or of the chain end); expired entries met
 * on the chain are removed. */
static node_t **find(memkv_t *kv, const char *key, size_t n, int64_t now) {
  node_t **pp = &kv->keys.b[hash(key, n) & (kv->keys.n - 1)];
  while (*pp) {
    entry_t *e = (entry_t *)*pp;
    if (expired(e, now)) {
      remove_entry(kv, pp);
      continue;
    }
    if (e->h.key_len == n && memcmp(e->h.key, key, n) == 0) break;
    pp = &(*pp)->next;
  }
  return pp;
}

/* Removes ns's expired entries when one may have expired; frees ns if that
 * empties it (then returns false). */
static bool sweep_namespace(memkv_t *kv, ns_t *ns, int64_t now) {
  if (now < ns->earliest_ms) return true;
  int64_t earliest = INT64_MAX;
  uint64_t left = ns->count;
  for (entry_t *e = ns->entries, *next; e; e = next) {
    next = e->ns_next;
    if (expired(e, now)) {
      left--;
      remove_entry(kv, table_slot(&kv->keys, e->h.key, e->h.key_len));
      if (left == 0) return false; /* ns itself is gone */
    } else if (e->expires_ms && e->expires_ms < earliest) {
      earliest = e->expires_ms;
    }
  }
  ns->earliest_ms = earliest;
  return true;
}

/* The namespace of key, created if missing; NULL when out of memory. */
static ns_t *get_namespace(memkv_t *kv, const char *key, size_t n) {
  size_t nl = mw__kv_ns_len(key, n);
  node_t **slot = table_slot(&kv->spaces, key, nl);
  if (*slot) return (ns_t *)*slot;
  ns_t *ns = calloc(1, sizeof *ns);
  char *name = malloc(nl + 1);
  if (!ns || !name) {
    free(ns);
    free(name);
    return NULL;
  }
  memcpy(name, key, nl);
  name[nl] = '\0';
  ns->h.key = name;
  ns->h.key_len = nl;
  ns->earliest_ms = INT64_MAX;
  table_insert(&kv->spaces, &ns->h);
  return ns;
}

/* Adds a new entry for key, taking value; checks the quotas. */
static mw_error_t *add_entry(memkv_t *kv, const char *key, size_t n,
                             uint8_t *value, size_t len, int64_t expires,
                             int64_t now) {
  if (kv->keys.count >= MAX_ENTRIES ||
      kv->bytes + n + len > MAX_TOTAL_BYTES)
    return mw_error_new(MW_ERR_LIMIT, "kv: the in-memory store is full");
  size_t nl = mw__kv_ns_len(key, n);
  node_t **nslot = table_slot(&kv->spaces, key, nl);
  if (*nslot) {
    ns_t *full = (ns_t *)*nslot;
    if (full->count >= kv->limits.max_keys_per_prefix &&
        sweep_namespace(kv, full, now) &&
        full->count >= kv->limits.max_keys_per_prefix)
      return mw__kv_quota_error(&kv->limits);
  }
  ns_t *ns = get_namespace(kv, key, n);
  entry_t *e = calloc(1, sizeof *e);
  char *k = malloc(n + 1);
  if (!ns || !e || !k) {
    free(e);
    free(k);
    if (ns && ns->count == 0) { /* just created: undo */
      node_t **np = table_slot(&kv->spaces, ns->h.key, ns->h.key_len);
      *np = ns->h.next;
      kv->spaces.count--;
      free(ns->h.key);
      free(ns);
    }
    return mw__nomem();
  }
  memcpy(k, key, n);
  k[n] = '\0';
  e->h.key = k;
  e->h.key_len = n;
  e->value = value;
  e->len = len;
  e->expires_ms = expires;
  e->ns = ns;
  e->ns_next = ns->entries;
  if (ns->entries) ns->entries->ns_prev = e;
  ns->entries = e;
  ns->count++;
  if (expires && expires < ns->earliest_ms) ns->earliest_ms = expires;
  kv->bytes += n + len;
  table_insert(&kv->keys, &e->h);
  return NULL;
}

/* ---- the vtable ------------------------------------------------------------ */

static mw_error_t *mem_get(void *ctx, const char *key, size_t n,
                           uint8_t **out, size_t *out_len, bool *found) {
  memkv_t *kv = ctx;
  mw_error_t *err = NULL;
  *found = false;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  pthread_mutex_lock(&kv->lock);
  entry_t *e = (entry_t *)*find(kv, key, n, mw__kv_now_ms());
  if (e) {
    *out = malloc(e->len ? e->len : 1);
    if (!*out) {
      err = mw__nomem();
    } else {
      memcpy(*out, e->value, e->len);
      *out_len = e->len;
      *found = true;
    }
  }
  pthread_mutex_unlock(&kv->lock);
  return err;
}

static mw_error_t *mem_del(void *ctx, const char *key, size_t n) {
  memkv_t *kv = ctx;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  pthread_mutex_lock(&kv->lock);
  node_t **slot = find(kv, key, n, mw__kv_now_ms());
  if (*slot) remove_entry(kv, slot);
  pthread_mutex_unlock(&kv->lock);
  return NULL;
}

static mw_error_t *mem_put(void *ctx, const char *key, size_t n,
                           const uint8_t *value, size_t len, int64_t ttl) {
  memkv_t *kv = ctx;
  mw_error_t *err = mw__kv_check_put(&kv->limits, key, n, len);
  if (err) return err;
  if (ttl == 0) return mem_del(ctx, key, n); /* expires at once */
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return mw__nomem();
  memcpy(copy, value, len);
  int64_t now = mw__kv_now_ms();
  int64_t expires = mw__kv_expiry_ms(now, ttl);
  pthread_mutex_lock(&kv->lock);
  entry_t *e = (entry_t *)*find(kv, key, n, now);
  if (e) { /* overwrite: the namespace's count is unchanged */
    if (kv->bytes - e->len + len > MAX_TOTAL_BYTES) {
      err = mw_error_new(MW_ERR_LIMIT, "kv: the in-memory store is full");
    } else {
      kv->bytes = kv->bytes - e->len + len;
      free(e->value);
      e->value = copy;
      e->len = len;
      e->expires_ms = expires;
      if (expires && expires < e->ns->earliest_ms) e->ns->earliest_ms = expires;
      copy = NULL;
    }
  } else {
    err = add_entry(kv, key, n, copy, len, expires, now);
    if (!err) copy = NULL;
  }
  pthread_mutex_unlock(&kv->lock);
  free(copy);
  return err;
}

static void mem_free(void *ctx) {
  memkv_t *kv = ctx;
  if (!kv) return;
  for (size_t i = 0; kv->keys.b && i < kv->keys.n; i++)
    for (node_t *e = kv->keys.b[i], *next; e; e = next) {
      next = e->next;
      free(e->key);
      free(((entry_t *)e)->value);
      free(e);
    }
  for (size_t i = 0; kv->spaces.b && i < kv->spaces.n; i++)
    for (node_t *s = kv->spaces.b[i], *next; s; s = next) {
      next = s->next;
      free(s->key);
      free(s);
    }
  free(kv->keys.b);
  free(kv->spaces.b);
  pthread_mutex_destroy(&kv->lock);
  free(kv);
}

mw_error_t *mw__kv_use_memory(mw_host_t *host, const mw_kv_limits_t *limits) {
  if (!host) return mw_error_new(MW_ERR_MISUSE, "NULL host");
  memkv_t *kv = calloc(1, sizeof *kv);
  if (!kv) return mw__nomem();
  mw__kv_limits_resolve(limits, &kv->limits);
  if (!table_init(&kv->keys) || !table_init(&kv->spaces)) {
    free(kv->keys.b);
    free(kv->spaces.b);
    free(kv);
    return mw__nomem();
  }
  pthread_mutex_init(&kv->lock, NULL);
  static const mw_kv_vtable_t vt = {mem_get, mem_put, mem_del};
  mw_host_set_kv(host, &vt, kv, mem_free);
  return NULL;
}

mw_error_t *mw_host_use_memory_kv(mw_host_t *host) {
  return mw__kv_use_memory(host, NULL);
}
