/*
 * registry.c - compiled components in memory (an LRU keyed by SHA-256) over
 * the artifact store they persist in.
 *
 * Store layout, shared by every `serve` process using the store:
 *   wasm/nodes/<node_id>/<sha256[:24]>.wasm    the component (mw_store_node_key)
 *   wasm/nodes/<node_id>/<sha256[:24]>.cwasm   its native artifact
 *   wasm/components/<sha256>.json              a record: key, cwasm key and
 *       hash, node_id, language, size, created_at
 * A component_id (the SHA-256) finds the record; a key finds the .wasm
 * directly (as `marie-wasm compile --store` writes it, without a record).
 * A process that misses loads the native artifact when it can (no
 * compilation; it must come from a Wasmtime build with the same settings,
 * else it is refused and the .wasm is compiled instead) and checks what it
 * reads against the expected hashes.
 *
 * Concurrency: one lock over the list; compilation and store I/O happen
 * outside it. A component being loaded has a placeholder entry, so
 * concurrent requests for it wait for one load instead of compiling N times.
 * Entries are reference-counted: an evicted entry lives until its last
 * execution releases it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

#define MAX_ARTIFACT_BYTES ((size_t)1 << 30)

struct srv_registry {
  mw_engine_t *engine;
  mw_store_t *store;
  char *tmp_dir;
  unsigned capacity, count;
  srv_metrics_t *metrics;
  pthread_mutex_t lock;
  pthread_cond_t loaded;
  srv_component_t *head, *tail; /* most recently used first */
};

bool srv_is_not_found(const mw_error_t *err) {
  return err && mw_error_status(err) == MW_ERR_IO &&
         strstr(mw_error_message(err), "not found") != NULL;
}

static void entry_free(srv_component_t *e) {
  if (!e) return;
  mw_component_free(e->component);
  free(e->key);
  free(e->cwasm_key);
  free(e->node_id);
  free(e->language);
  free(e->created_at);
  free(e);
}

mw_error_t *srv_registry_new(mw_engine_t *engine, mw_store_t *store,
                             const char *tmp_dir, unsigned capacity,
                             srv_metrics_t *metrics, srv_registry_t **out) {
  srv_registry_t *reg = calloc(1, sizeof *reg);
  if (!reg || !(reg->tmp_dir = strdup(tmp_dir))) {
    free(reg);
    return mw_error_new(MW_ERR_NOMEM, "out of memory");
  }
  reg->engine = engine;
  reg->store = store;
  reg->capacity = capacity ? capacity : 1;
  reg->metrics = metrics;
  pthread_mutex_init(&reg->lock, NULL);
  pthread_cond_init(&reg->loaded, NULL);
  *out = reg;
  return NULL;
}

void srv_registry_free(srv_registry_t *reg) {
  if (!reg) return;
  for (srv_component_t *e = reg->head, *next; e; e = next) {
    next = e->next;
    entry_free(e);
  }
  pthread_cond_destroy(&reg->loaded);
  pthread_mutex_destroy(&reg->lock);
  free(reg->tmp_dir);
  free(reg);
}

/* ---- the list (under reg->lock) ----------------------------------------- */

static void unlink_entry(srv_registry_t *reg, srv_component_t *e) {
  if (e->prev) e->prev->next = e->next;
  else reg->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else reg->tail = e->prev;
  e->prev = e->next = NULL;
  reg->count--;
}

static void push_front(srv_registry_t *reg, srv_component_t *e) {
  e->prev = NULL;
  e->next = reg->head;
  if (reg->head) reg->head->prev = e;
  reg->head = e;
  if (!reg->tail) reg->tail = e;
  reg->count++;
}

/* The entry whose sha256 starts with the first n digits of sha. */
static srv_component_t *find(srv_registry_t *reg, const char *sha, size_t n) {
  for (srv_component_t *e = reg->head; e; e = e->next)
    if (strncmp(e->sha256, sha, n) == 0) return e;
  return NULL;
}

/* Drops least recently used entries past capacity; returns those nobody
 * holds, for the caller to free outside the lock. */
static srv_component_t *evict(srv_registry_t *reg) {
  srv_component_t *dead = NULL;
  for (srv_component_t *e = reg->tail, *prev; e && reg->count > reg->capacity;
       e = prev) {
    prev = e->prev;
    if (e->loading) continue;
    unlink_entry(reg, e);
    e->evicted = true;
    if (e->refs == 0) {
      e->next = dead;
      dead = e;
    }
  }
  return dead;
}

static void free_list(srv_component_t *e) {
  for (srv_component_t *next; e; e = next) {
    next = e->next;
    entry_free(e);
  }
}

void srv_registry_release(srv_registry_t *reg, srv_component_t *e) {
  if (!e) return;
  pthread_mutex_lock(&reg->lock);
  bool dead = --e->refs == 0 && e->evicted;
  pthread_mutex_unlock(&reg->lock);
  if (dead) entry_free(e);
}

/* ---- the store ------------------------------------------------------------ */

static char *record_key(const char *sha) {
  char *k = malloc(16 + 64 + 6 + 1);
  if (k) snprintf(k, 16 + 64 + 6 + 1, "wasm/components/%s.json", sha);
  return k;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Reads the record of sha; *out NULL when there is none. */
static mw_error_t *read_record(srv_registry_t *reg, const char *sha, json_t **out) {
  *out = NULL;
  char *rk = record_key(sha);
  if (!rk) return mw_error_new(MW_ERR_NOMEM, "out of memory");
  uint8_t *data = NULL;
  size_t len = 0;
  mw_error_t *err = mw_store_get(reg->store, rk, NULL, &data, &len);
  free(rk);
  if (srv_is_not_found(err)) {
    mw_error_free(err);
    return NULL;
  }
  if (err) return err;
  *out = json_loadb((const char *)data, len, 0, NULL);
  free(data);
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return mw_error_new(MW_ERR_ARTIFACT, "component %s: its record is corrupt", sha);
  }
  return NULL;
}

static mw_error_t *read_file(const char *path, uint8_t **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (!f) return mw_error_new(MW_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 20, len = 0;
  uint8_t *buf = malloc(cap);
  mw_error_t *err = NULL;
  while (buf && !err) {
    if (len == cap) {
      uint8_t *nb = cap < MAX_ARTIFACT_BYTES ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        err = mw_error_new(MW_ERR_IO, "%s: too large or out of memory", path);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) err = mw_error_new(MW_ERR_IO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (!buf && !err) err = mw_error_new(MW_ERR_NOMEM, "out of memory");
  if (err) {
    free(buf);
    return err;
  }
  *out = buf;
  *out_len = len;
  return NULL;
}

/* A private temporary path in the data dir (created empty, 0600). */
static char *temp_path(srv_registry_t *reg) {
  size_t n = strlen(reg->tmp_dir) + 32;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/cwasm-XXXXXX", reg->tmp_dir);
  int fd = mkstemp(p);
  if (fd < 0) {
    free(p);
    return NULL;
  }
  close(fd);
  return p;
}

/* Maps a native artifact from the store. The artifact is native code: it is
 * only ever read from the store this service writes (see DEPLOY.md). */
static mw_error_t *load_artifact(srv_registry_t *reg, const char *cwasm_key,
                                 const char *expect_sha, mw_component_t **out) {
  uint8_t *data = NULL;
  size_t len = 0;
  mw_error_t *err = mw_store_get(reg->store, cwasm_key, expect_sha, &data, &len);
  if (err) return err;
  char *path = temp_path(reg);
  if (!path) {
    free(data);
    return mw_error_new(MW_ERR_IO, "%s: cannot create a temporary file", reg->tmp_dir);
  }
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(data, 1, len, f) == len;
  if (f && fclose(f) != 0) ok = false;
  free(data);
  err = ok ? mw_component_load_file(reg->engine, path, out)
           : mw_error_new(MW_ERR_IO, "%s: %s", path, strerror(errno));
  unlink(path); /* the mapping stays valid after the unlink */
  free(path);
  return err;
}

/* "wasm/nodes/<node_id>/<24 hex>.wasm": the node_id (malloc'd) and the 24
 * digits, or MW_ERR_INPUT. */
static mw_error_t *parse_key(const char *key, char **node_id, char sha24[25]) {
  static const char pre[] = "wasm/nodes/";
  size_t n = strlen(key);
  const char *slash = strrchr(key, '/');
  if (strncmp(key, pre, sizeof pre - 1) != 0 || n < sizeof pre + 29 ||
      strcmp(key + n - 5, ".wasm") != 0 || !slash || (size_t)(key + n - slash) != 30)
    goto bad;
  memcpy(sha24, slash + 1, 24);
  sha24[24] = '\0';
  for (int i = 0; i < 24; i++)
    if (!((sha24[i] >= '0' && sha24[i] <= '9') || (sha24[i] >= 'a' && sha24[i] <= 'f')))
      goto bad;
  *node_id = strndup(key + sizeof pre - 1, (size_t)(slash - key) - (sizeof pre - 1));
  if (!*node_id) return mw_error_new(MW_ERR_NOMEM, "out of memory");
  char *canon = NULL;
  mw_error_t *err = mw_store_node_key(*node_id, sha24, ".wasm", &canon);
  bool same = !err && strcmp(canon, key) == 0;
  free(canon);
  mw_error_free(err);
  if (same) return NULL;
  free(*node_id);
  *node_id = NULL;
bad:
  return mw_error_new(MW_ERR_INPUT,
                      "key '%.200s': expected wasm/nodes/<node_id>/<sha256[:24]>.wasm",
                      key);
}

/* Fills placeholder e (whose sha256 is set) from the store. key_hint and
 * wasm (may be NULL) are what a lookup by key already read. */
static mw_error_t *load(srv_registry_t *reg, srv_component_t *e, const char *key_hint,
                        const uint8_t *wasm, size_t wasm_len) {
  json_t *rec = NULL;
  uint8_t *fetched = NULL;
  mw_error_t *err = read_record(reg, e->sha256, &rec);
  if (err) return err;
  const char *key = json_string_value(json_object_get(rec, "key"));
  if (!key) key = key_hint;
  char sha24[25];
  if (!key)
    err = mw_error_new(MW_ERR_IO, "component %s: not found", e->sha256);
  else if (!(err = parse_key(key, &e->node_id, sha24)) && strncmp(sha24, e->sha256, 24))
    err = mw_error_new(MW_ERR_ARTIFACT, "component %s: its record names key %s",
                       e->sha256, key);
  if (err) goto out;
  if (!(e->key = strdup(key))) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto out;
  }
  e->language = dup_or_null(json_string_value(json_object_get(rec, "language")));
  e->created_at = dup_or_null(json_string_value(json_object_get(rec, "created_at")));
  e->size = wasm ? wasm_len : (size_t)json_integer_value(json_object_get(rec, "size"));

  /* The native artifact first: mapping it skips compilation. */
  const char *cwasm_sha = json_string_value(json_object_get(rec, "cwasm_sha256"));
  char *cwasm_key = NULL;
  if (!(err = mw_store_node_key(e->node_id, e->sha256, ".cwasm", &cwasm_key))) {
    mw_error_t *aerr = load_artifact(reg, cwasm_key,
                                     srv_is_sha256(cwasm_sha) ? cwasm_sha : NULL,
                                     &e->component);
    if (!aerr) {
      e->cwasm_key = cwasm_key;
      cwasm_key = NULL;
    } else if (!srv_is_not_found(aerr)) {
      json_t *f = json_pack("{s:s, s:s}", "component_id", e->sha256, "error",
                            mw_error_message(aerr));
      srv_log("warn", "native artifact refused; compiling the .wasm", f);
    }
    mw_error_free(aerr);
  }
  free(cwasm_key);
  if (err || e->component) goto out;

  if (!wasm) {
    size_t len = 0;
    if ((err = mw_store_get(reg->store, e->key, e->sha256, &fetched, &len))) goto out;
    wasm = fetched;
    wasm_len = len;
    e->size = len;
  }
  err = mw_component_new(reg->engine, wasm, wasm_len, &e->component);
out:
  free(fetched);
  json_decref(rec);
  return err;
}

/* The entry for sha, loading it when no one has. Consumes wasm. */
static mw_error_t *acquire(srv_registry_t *reg, const char *sha, const char *key_hint,
                           uint8_t *wasm, size_t wasm_len, srv_component_t **out) {
  pthread_mutex_lock(&reg->lock);
  srv_component_t *e;
  while ((e = find(reg, sha, 64)) && e->loading)
    pthread_cond_wait(&reg->loaded, &reg->lock);
  if (e) {
    e->refs++;
    unlink_entry(reg, e);
    push_front(reg, e);
    pthread_mutex_unlock(&reg->lock);
    free(wasm);
    atomic_fetch_add(&reg->metrics->component_hits, 1);
    *out = e;
    return NULL;
  }
  if (!(e = calloc(1, sizeof *e))) {
    pthread_mutex_unlock(&reg->lock);
    free(wasm);
    return mw_error_new(MW_ERR_NOMEM, "out of memory");
  }
  memcpy(e->sha256, sha, 65);
  e->loading = true;
  e->refs = 1;
  push_front(reg, e);
  pthread_mutex_unlock(&reg->lock);

  atomic_fetch_add(&reg->metrics->component_misses, 1);
  mw_error_t *err = load(reg, e, key_hint, wasm, wasm_len);
  free(wasm);

  pthread_mutex_lock(&reg->lock);
  e->loading = false;
  srv_component_t *dead = NULL;
  if (err) unlink_entry(reg, e);
  else dead = evict(reg);
  pthread_cond_broadcast(&reg->loaded);
  pthread_mutex_unlock(&reg->lock);
  free_list(dead);
  if (err) {
    entry_free(e);
    return err;
  }
  *out = e;
  return NULL;
}

mw_error_t *srv_registry_get(srv_registry_t *reg, const char *sha, const char *key,
                             srv_component_t **out) {
  *out = NULL;
  if (sha) {
    if (!srv_is_sha256(sha))
      return mw_error_new(MW_ERR_INPUT, "component_id '%.80s': expected 64 lowercase "
                                        "hex digits (the component's SHA-256)", sha);
    return acquire(reg, sha, NULL, NULL, 0, out);
  }
  char *node_id = NULL, sha24[25];
  mw_error_t *err = parse_key(key, &node_id, sha24);
  free(node_id);
  if (err) return err;
  /* Keys are content-addressed: a component in memory whose hash starts
   * with the key's digits is the key's component. */
  pthread_mutex_lock(&reg->lock);
  srv_component_t *e = find(reg, sha24, 24);
  if (e && !e->loading) {
    e->refs++;
    unlink_entry(reg, e);
    push_front(reg, e);
    pthread_mutex_unlock(&reg->lock);
    atomic_fetch_add(&reg->metrics->component_hits, 1);
    *out = e;
    return NULL;
  }
  pthread_mutex_unlock(&reg->lock);
  uint8_t *wasm = NULL;
  size_t len = 0;
  if ((err = mw_store_get(reg->store, key, NULL, &wasm, &len))) return err;
  char full[65];
  mw_sha256_hex(wasm, len, full);
  if (strncmp(full, sha24, 24) != 0) {
    free(wasm);
    return mw_error_new(MW_ERR_ARTIFACT, "key %s: the stored bytes hash to %s", key,
                        full);
  }
  return acquire(reg, full, key, wasm, len, out);
}

/* ---- registering ------------------------------------------------------------- */

/* Stores the native artifact of c under cwasm_key; its hash into sha_out. */
static mw_error_t *put_artifact(srv_registry_t *reg, const mw_component_t *c,
                                const char *cwasm_key, char sha_out[65]) {
  char *path = temp_path(reg);
  if (!path)
    return mw_error_new(MW_ERR_IO, "%s: cannot create a temporary file", reg->tmp_dir);
  uint8_t *data = NULL;
  size_t len = 0;
  mw_error_t *err = mw_component_write_artifact(c, path);
  if (!err) err = read_file(path, &data, &len);
  unlink(path);
  free(path);
  if (!err) {
    mw_sha256_hex(data, len, sha_out);
    err = mw_store_put(reg->store, cwasm_key, data, len);
  }
  free(data);
  return err;
}

static mw_error_t *put_record(srv_registry_t *reg, const srv_component_t *e,
                              const char *cwasm_sha) {
  char ts[40];
  srv_rfc3339(ts);
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:s, s:s}",
                          "component_id", e->sha256, "sha256", e->sha256, "key", e->key,
                          "cwasm_key", e->cwasm_key, "cwasm_sha256", cwasm_sha,
                          "language", e->language, "size", (json_int_t)e->size,
                          "node_id", e->node_id, "created_at", ts);
  if (rec) json_object_set_new(rec, "wasmtime", json_string(mw_wasmtime_version()));
  char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(rec);
  char *rk = record_key(e->sha256);
  mw_error_t *err = text && rk ? mw_store_put(reg->store, rk, (const uint8_t *)text,
                                             strlen(text))
                               : mw_error_new(MW_ERR_NOMEM, "out of memory");
  free(text);
  free(rk);
  return err;
}

mw_error_t *srv_registry_add(srv_registry_t *reg, const uint8_t *wasm, size_t len,
                             const char *node_id, const char *language,
                             srv_component_t **out) {
  *out = NULL;
  if (len < 8 || memcmp(wasm, "\0asm", 4) != 0)
    return mw_error_new(MW_ERR_COMPONENT, "not a WebAssembly component (.wasm); "
                                          "native artifacts cannot be registered");
  srv_component_t *e = calloc(1, sizeof *e);
  if (!e) return mw_error_new(MW_ERR_NOMEM, "out of memory");
  mw_sha256_hex(wasm, len, e->sha256);
  e->size = len;
  mw_error_t *err = mw_store_node_key(node_id, e->sha256, ".wasm", &e->key);
  if (!err) err = mw_store_node_key(node_id, e->sha256, ".cwasm", &e->cwasm_key);
  if (!err && (!(e->node_id = strdup(node_id)) ||
               (language && !(e->language = strdup(language)))))
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
  if (err) goto fail;

  /* Already here under this key: the store has it all. */
  pthread_mutex_lock(&reg->lock);
  srv_component_t *have = find(reg, e->sha256, 64);
  if (have && !have->loading && have->cwasm_key && !strcmp(have->key, e->key)) {
    have->refs++;
    unlink_entry(reg, have);
    push_front(reg, have);
    pthread_mutex_unlock(&reg->lock);
    entry_free(e);
    *out = have;
    return NULL;
  }
  pthread_mutex_unlock(&reg->lock);

  char cwasm_sha[65];
  if ((err = mw_component_new(reg->engine, wasm, len, &e->component))) goto fail;
  if ((err = mw_store_put(reg->store, e->key, wasm, len))) goto fail;
  if ((err = put_artifact(reg, e->component, e->cwasm_key, cwasm_sha))) goto fail;
  if ((err = put_record(reg, e, cwasm_sha))) goto fail;

  char ts[40];
  srv_rfc3339(ts);
  e->created_at = strdup(ts);
  e->refs = 1;
  pthread_mutex_lock(&reg->lock);
  /* A copy loaded meanwhile is the same component: drop it for this one. */
  srv_component_t *old = find(reg, e->sha256, 64), *dead = NULL;
  if (old && !old->loading) {
    unlink_entry(reg, old);
    old->evicted = true;
    if (old->refs == 0) dead = old;
  }
  push_front(reg, e);
  srv_component_t *more = evict(reg);
  pthread_mutex_unlock(&reg->lock);
  entry_free(dead);
  free_list(more);
  *out = e;
  return NULL;
fail:
  entry_free(e);
  return err;
}
