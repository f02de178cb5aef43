/*
 * kv_memory.c - the built-in in-memory key-value backend: a mutex-guarded
 * open hash table with optional expiry. Expired entries are never returned
 * and are removed when met.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/host_int.h"
#include "util/error_int.h"

typedef struct entry {
  char *key;
  size_t key_len;
  uint8_t *value;
  size_t len;
  time_t expires; /* 0: never */
  struct entry *next;
} entry_t;

#define NBUCKETS 1024u
#define MAX_ENTRIES 1000000u

typedef struct memkv {
  pthread_mutex_t lock;
  entry_t *buckets[NBUCKETS];
  size_t count;
} memkv_t;

static size_t hash(const char *k, size_t n) {
  size_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
  return h % NBUCKETS;
}

static time_t now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

/* Finds key; unlinks and frees it if expired. Caller holds the lock. */
static entry_t **find(memkv_t *kv, const char *key, size_t n) {
  entry_t **pp = &kv->buckets[hash(key, n)];
  while (*pp) {
    entry_t *e = *pp;
    if (e->expires && e->expires <= now_s()) {
      *pp = e->next;
      free(e->key);
      free(e->value);
      free(e);
      kv->count--;
      continue;
    }
    if (e->key_len == n && memcmp(e->key, key, n) == 0) return pp;
    pp = &e->next;
  }
  return NULL;
}

static mw_error_t *mem_get(void *ctx, const char *key, size_t n,
                           uint8_t **out, size_t *out_len, bool *found) {
  memkv_t *kv = ctx;
  mw_error_t *err = NULL;
  pthread_mutex_lock(&kv->lock);
  entry_t **pp = find(kv, key, n);
  *found = pp != NULL;
  if (pp) {
    *out = malloc((*pp)->len ? (*pp)->len : 1);
    if (!*out) {
      err = mw__nomem();
      *found = false;
    } else {
      memcpy(*out, (*pp)->value, (*pp)->len);
      *out_len = (*pp)->len;
    }
  }
  pthread_mutex_unlock(&kv->lock);
  return err;
}

static mw_error_t *mem_put(void *ctx, const char *key, size_t n,
                           const uint8_t *value, size_t len, int64_t ttl) {
  memkv_t *kv = ctx;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return mw__nomem();
  memcpy(copy, value, len);
  time_t expires = ttl >= 0 ? now_s() + (time_t)ttl : 0;
  if (ttl == 0) expires = now_s(); /* expires at once */
  mw_error_t *err = NULL;
  pthread_mutex_lock(&kv->lock);
  entry_t **pp = find(kv, key, n);
  if (pp) {
    free((*pp)->value);
    (*pp)->value = copy;
    (*pp)->len = len;
    (*pp)->expires = expires;
  } else if (kv->count >= MAX_ENTRIES) {
    free(copy);
    err = mw_error_new(MW_ERR_LIMIT, "kv.put: the store is full");
  } else {
    entry_t *e = calloc(1, sizeof *e);
    char *k = malloc(n + 1);
    if (!e || !k) {
      free(e);
      free(k);
      free(copy);
      err = mw__nomem();
    } else {
      memcpy(k, key, n);
      k[n] = '\0';
      *e = (entry_t){k, n, copy, len, expires, NULL};
      size_t b = hash(key, n);
      e->next = kv->buckets[b];
      kv->buckets[b] = e;
      kv->count++;
    }
  }
  pthread_mutex_unlock(&kv->lock);
  return err;
}

static mw_error_t *mem_del(void *ctx, const char *key, size_t n) {
  memkv_t *kv = ctx;
  pthread_mutex_lock(&kv->lock);
  entry_t **pp = find(kv, key, n);
  if (pp) {
    entry_t *e = *pp;
    *pp = e->next;
    free(e->key);
    free(e->value);
    free(e);
    kv->count--;
  }
  pthread_mutex_unlock(&kv->lock);
  return NULL;
}

static void mem_free(void *ctx) {
  memkv_t *kv = ctx;
  for (size_t b = 0; b < NBUCKETS; b++)
    for (entry_t *e = kv->buckets[b], *next; e; e = next) {
      next = e->next;
      free(e->key);
      free(e->value);
      free(e);
    }
  pthread_mutex_destroy(&kv->lock);
  free(kv);
}

mw_error_t *mw_host_use_memory_kv(mw_host_t *host) {
  if (!host) return mw_error_new(MW_ERR_MISUSE, "NULL host");
  memkv_t *kv = calloc(1, sizeof *kv);
  if (!kv) return mw__nomem();
  pthread_mutex_init(&kv->lock, NULL);
  static const mw_kv_vtable_t vt = {mem_get, mem_put, mem_del};
  mw_host_set_kv(host, &vt, kv, mem_free);
  return NULL;
}
