/*
 * kv_redis.c - the Redis key-value backend ("redis://host:port/db"),
 * through hiredis' blocking API.
 *
 * Redis keys: the value of backend key K is stored at "mwkv:d:K"; each
 * namespace NS has an index, the sorted set "mwkv:n:NS", whose members are
 * its data keys scored by their expiry in Unix ms (+inf: never). A put
 * runs one Lua script (atomic on the server) that prunes the index of
 * expired members, checks the count of live members against the quota,
 * then SETs (with PX for a TTL) and indexes the key; a delete removes both.
 * So expiry cannot make the count drift: expired members are dropped by
 * score, with the server's clock. An index whose keys all expire expires
 * with the last of them (PEXPIREAT its highest score), so an idle
 * namespace leaves nothing behind. Keys that vanish behind our back
 * (eviction, a manual DEL) are found when a namespace looks full: the
 * script then drops index members whose key no longer EXISTS before
 * refusing. A single Redis is assumed (not Cluster: the script touches two
 * keys of different slots).
 *
 * Failures: every connect and command is bounded by limits.timeout_ms
 * (redisConnectWithTimeout, redisSetTimeout). A connection that failed is
 * dropped; the next call connects again, so the host survives Redis going
 * away and resumes when it is back. A call that finds a pooled connection
 * closed by the server (Redis restarted) retries once on a new one; every
 * operation is idempotent, so the retry is safe. The creation connects
 * once, so a wrong address fails at configuration time.
 *
 * Threads: a pool of up to POOL_MAX connections, one thread per connection
 * at a time. SIGPIPE from writing to a closed socket is blocked and
 * consumed around each call, never left to kill the embedding process.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/host_int.h"
#include "host/kv_int.h"
#include "util/error_int.h"


#define POOL_MAX 8
#define DATA_PREFIX "mwkv:d:"
#define INDEX_PREFIX "mwkv:n:"
#define PREFIX_LEN 7
#define MAX_TTL_MS (100ll * 366 * 24 * 3600 * 1000)

/* KEYS: data key, index key. ARGV: value, ttl ms (-1: none), max keys.
 * Returns 1 when stored, 0 when the namespace is full. */
static const char put_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local key, idx = KEYS[1], KEYS[2]\n"
    "local ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)\n"
    "if not redis.call('ZSCORE', idx, key) and\n"
    "   redis.call('ZCARD', idx) >= max then\n"
    "  for _, m in ipairs(redis.call('ZRANGE', idx, 0, -1)) do\n"
    "    if redis.call('EXISTS', m) == 0 then redis.call('ZREM', idx, m) end\n"
    "  end\n"
    "  if redis.call('ZCARD', idx) >= max then return 0 end\n"
    "end\n"
    "if ttl >= 0 then\n"
    "  redis.call('SET', key, ARGV[1], 'PX', ttl)\n"
    "  redis.call('ZADD', idx, now + ttl, key)\n"
    "else\n"
    "  redis.call('SET', key, ARGV[1])\n"
    "  redis.call('ZADD', idx, '+inf', key)\n"
    "end\n"
    "local last = tonumber(redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')[2])\n"
    "if last and last < 1e300 then redis.call('PEXPIREAT', idx, last)\n"
    "else redis.call('PERSIST', idx) end\n"
    "return 1\n";

/* KEYS: data key, index key. */
static const char del_script[] =
    "redis.call('ZREM', KEYS[2], KEYS[1])\n"
    "return redis.call('DEL', KEYS[1])\n";

typedef struct redkv {
  pthread_mutex_t lock;
  pthread_cond_t idle_cond;
  mw_kv_limits_t limits;
  char *host;
  int port, db;
  char put_sha[41], del_sha[41]; /* set once at creation */
  redisContext *idle[POOL_MAX];
  size_t n_idle, n_open;
} redkv_t;

/* ---- SIGPIPE ------------------------------------------------------------- */

/* hiredis writes with write(2): a write to a socket the server closed
 * raises SIGPIPE, which by default kills the process. It is blocked in this
 * thread for the call and a SIGPIPE we caused is consumed. */
typedef struct sigpipe_guard {
  sigset_t old;
  bool was_pending;
} sigpipe_guard_t;

static void sigpipe_block(sigpipe_guard_t *g) {
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigpending(&pending);
  g->was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(sigpipe_guard_t *g) {
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigpending(&pending);
  if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
    static const struct timespec zero = {0, 0};
    int saved = errno;
    while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR) continue;
    errno = saved;
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- connections ------------------------------------------------------- */

static struct timeval timeout_tv(const redkv_t *kv) {
  struct timeval tv = {(time_t)(kv->limits.timeout_ms / 1000),
                       (suseconds_t)(kv->limits.timeout_ms % 1000) * 1000};
  return tv;
}

/* While the backend is created (op NULL) the message names the server for
 * the operator: "kv redis host:port/db: <what><detail>". Errors of guest
 * calls reach the guest, which has no business learning internal
 * addresses: "kv.<op>: redis: <what><detail>". */
static mw_error_t *endpoint_error(const redkv_t *kv, const char *op,
                                  const char *what, const char *detail) {
  if (op)
    return mw_error_new(MW_ERR_BACKEND, "kv.%s: redis: %s%s", op, what,
                        detail);
  return mw_error_new(MW_ERR_BACKEND, "kv redis %s:%d/%d: %s%s", kv->host,
                      kv->port, kv->db, what, detail);
}

static mw_error_t *reply_error(const redkv_t *kv, const char *op,
                               const redisReply *r) {
  char what[256];
  if (r->type == REDIS_REPLY_ERROR)
    snprintf(what, sizeof what, "%.*s", (int)r->len, r->str);
  else
    snprintf(what, sizeof what, "unexpected reply type %d", r->type);
  return endpoint_error(kv, op, what, "");
}

/* Runs one set-up command (SELECT, SCRIPT LOAD) on a new connection. */
static mw_error_t *setup_command(const redkv_t *kv, redisContext *c,
                                 const char *op, redisReply **out, int argc,
                                 const char **argv) {
  redisReply *r = redisCommandArgv(c, argc, argv, NULL);
  if (!r) return endpoint_error(kv, op, "", c->errstr);
  if (r->type == REDIS_REPLY_ERROR) {
    mw_error_t *err = reply_error(kv, op, r);
    freeReplyObject(r);
    return err;
  }
  *out = r;
  return NULL;
}

static mw_error_t *connect_one(const redkv_t *kv, const char *op,
                               redisContext **out) {
  mw_error_t *err = NULL;
  redisReply *r = NULL;
  struct timeval tv = timeout_tv(kv);
  redisContext *c = redisConnectWithTimeout(kv->host, kv->port, tv);
  if (!c) return mw__nomem();
  if (c->err) {
    err = endpoint_error(kv, op, "cannot connect: ", c->errstr);
    goto out;
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    err = endpoint_error(kv, op, "cannot set the timeout: ", c->errstr);
    goto out;
  }
  redisEnableKeepAlive(c);
  if (kv->db != 0) {
    char db[16];
    snprintf(db, sizeof db, "%d", kv->db);
    const char *argv[] = {"SELECT", db};
    if ((err = setup_command(kv, c, op, &r, 2, argv))) goto out;
  }
out:
  freeReplyObject(r);
  if (err) {
    redisFree(c);
    c = NULL;
  }
  *out = c;
  return err;
}

/* Takes an idle connection or opens one (*out_fresh); waits at most
 * timeout_ms when all POOL_MAX are in use. */
static mw_error_t *acquire(redkv_t *kv, const char *op, redisContext **out,
                           bool *out_fresh) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kv->limits.timeout_ms / 1000;
  deadline.tv_nsec += (long)(kv->limits.timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&kv->lock);
  while (kv->n_idle == 0 && kv->n_open >= POOL_MAX) {
    if (pthread_cond_timedwait(&kv->idle_cond, &kv->lock, &deadline) ==
        ETIMEDOUT) {
      pthread_mutex_unlock(&kv->lock);
      return endpoint_error(kv, op, "all connections busy", "");
    }
  }
  if (kv->n_idle) {
    *out = kv->idle[--kv->n_idle];
    *out_fresh = false;
    pthread_mutex_unlock(&kv->lock);
    return NULL;
  }
  kv->n_open++; /* reserve the slot, connect outside the lock */
  pthread_mutex_unlock(&kv->lock);
  *out_fresh = true;
  mw_error_t *err = connect_one(kv, op, out);
  if (err) {
    pthread_mutex_lock(&kv->lock);
    kv->n_open--;
    pthread_cond_signal(&kv->idle_cond);
    pthread_mutex_unlock(&kv->lock);
  }
  return err;
}

/* Returns c to the pool, or closes it when broken (c->err). */
static void release(redkv_t *kv, redisContext *c) {
  pthread_mutex_lock(&kv->lock);
  if (c->err) {
    redisFree(c);
    kv->n_open--;
  } else {
    kv->idle[kv->n_idle++] = c;
  }
  pthread_cond_signal(&kv->idle_cond);
  pthread_mutex_unlock(&kv->lock);
}

/* Closes every idle connection: after one of them was found closed by the
 * server (a restart), the others, pooled as long, are closed too. */
static void drop_idle(redkv_t *kv) {
  redisContext *dead[POOL_MAX];
  pthread_mutex_lock(&kv->lock);
  size_t n = kv->n_idle;
  memcpy(dead, kv->idle, n * sizeof *dead);
  kv->n_idle = 0;
  kv->n_open -= n;
  pthread_cond_broadcast(&kv->idle_cond);
  pthread_mutex_unlock(&kv->lock);
  for (size_t i = 0; i < n; i++) redisFree(dead[i]);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one command and returns its reply (owned by the caller; may be an
 * error reply). script, when given, is the text behind argv[1]'s EVALSHA
 * digest, sent with EVAL if the server has forgotten it (restart, SCRIPT
 * FLUSH). I/O failures are errors; see the file comment for the retry. */
static mw_error_t *command(redkv_t *kv, const char *op, const char *script,
                           int argc, const char **argv, size_t *lens,
                           redisReply **out) {
  mw_error_t *err = NULL;
  sigpipe_guard_t guard;
  sigpipe_block(&guard);
  for (int attempt = 0; attempt < 2; attempt++) {
    redisContext *c = NULL;
    bool fresh = true;
    if ((err = acquire(kv, op, &c, &fresh))) break;
    int64_t start = mono_ms();
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (r && script && r->type == REDIS_REPLY_ERROR &&
        strncmp(r->str, "NOSCRIPT", 8) == 0) {
      freeReplyObject(r);
      argv[0] = "EVAL";
      lens[0] = 4;
      argv[1] = script;
      lens[1] = strlen(script);
      r = redisCommandArgv(c, argc, argv, lens);
    }
    if (r) {
      release(kv, c);
      *out = r;
      break;
    }
    bool timed_out = mono_ms() - start >= (int64_t)kv->limits.timeout_ms;
    if (timed_out) {
      char what[64];
      snprintf(what, sizeof what, "no answer within %u ms",
               kv->limits.timeout_ms);
      err = endpoint_error(kv, op, what, "");
    } else {
      err = endpoint_error(kv, op, "", c->errstr);
    }
    release(kv, c); /* c->err is set: closed */
    /* Only a reused connection that failed fast is worth one retry: the
     * server restarted since it was pooled. The retry must not take
     * another connection from before the restart. */
    if (fresh || timed_out || attempt == 1) break;
    drop_idle(kv);
    mw_error_free(err);
    err = NULL;
  }
  sigpipe_restore(&guard);
  return err;
}

/* "<prefix><bytes>" for the data and index keys. */
static char *redis_key(const char *prefix, const char *key, size_t n,
                       size_t *out_len) {
  char *k = malloc(PREFIX_LEN + n + 1);
  if (!k) return NULL;
  memcpy(k, prefix, PREFIX_LEN);
  memcpy(k + PREFIX_LEN, key, n);
  k[PREFIX_LEN + n] = '\0';
  *out_len = PREFIX_LEN + n;
  return k;
}

/* ---- the vtable ------------------------------------------------------------ */

static mw_error_t *red_get(void *ctx, const char *key, size_t n,
                           uint8_t **out, size_t *out_len, bool *found) {
  redkv_t *kv = ctx;
  redisReply *r = NULL;
  size_t dl;
  *found = false;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  char *dkey = redis_key(DATA_PREFIX, key, n, &dl);
  if (!dkey) return mw__nomem();
  const char *argv[] = {"GET", dkey};
  size_t lens[] = {3, dl};
  mw_error_t *err = command(kv, "get", NULL, 2, argv, lens, &r);
  if (err) goto out;
  if (r->type == REDIS_REPLY_NIL) goto out;
  if (r->type != REDIS_REPLY_STRING) {
    err = reply_error(kv, "get", r);
  } else if (r->len > kv->limits.max_value_bytes) {
    err = mw_error_new(MW_ERR_BACKEND,
                       "kv.get: redis holds a value of %zu bytes, more than "
                       "the %u allowed",
                       r->len, kv->limits.max_value_bytes);
  } else if (!(*out = malloc(r->len ? r->len : 1))) {
    err = mw__nomem();
  } else {
    memcpy(*out, r->str, r->len);
    *out_len = r->len;
    *found = true;
  }
out:
  freeReplyObject(r);
  free(dkey);
  return err;
}

static mw_error_t *red_del(void *ctx, const char *key, size_t n) {
  redkv_t *kv = ctx;
  redisReply *r = NULL;
  mw_error_t *err = NULL;
  size_t dl, il;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  char *dkey = redis_key(DATA_PREFIX, key, n, &dl);
  char *ikey = redis_key(INDEX_PREFIX, key, mw__kv_ns_len(key, n), &il);
  if (!dkey || !ikey) {
    err = mw__nomem();
    goto out;
  }
  const char *argv[] = {"EVALSHA", kv->del_sha, "2", dkey, ikey};
  size_t lens[] = {7, 40, 1, dl, il};
  if ((err = command(kv, "delete", del_script, 5, argv, lens, &r))) goto out;
  if (r->type != REDIS_REPLY_INTEGER) err = reply_error(kv, "delete", r);
out:
  freeReplyObject(r);
  free(dkey);
  free(ikey);
  return err;
}

static mw_error_t *red_put(void *ctx, const char *key, size_t n,
                           const uint8_t *value, size_t len, int64_t ttl) {
  redkv_t *kv = ctx;
  redisReply *r = NULL;
  size_t dl, il;
  mw_error_t *err = mw__kv_check_put(&kv->limits, key, n, len);
  if (err) return err;
  if (ttl == 0) return red_del(ctx, key, n); /* expires at once */
  char *dkey = redis_key(DATA_PREFIX, key, n, &dl);
  char *ikey = redis_key(INDEX_PREFIX, key, mw__kv_ns_len(key, n), &il);
  if (!dkey || !ikey) {
    err = mw__nomem();
    goto out;
  }
  char ttl_ms[24], max[24];
  long long t = ttl < 0 ? -1 : (ttl > MAX_TTL_MS / 1000 ? MAX_TTL_MS : ttl * 1000);
  snprintf(ttl_ms, sizeof ttl_ms, "%lld", t);
  snprintf(max, sizeof max, "%llu",
           (unsigned long long)kv->limits.max_keys_per_prefix);
  const char *argv[] = {"EVALSHA", kv->put_sha, "2",    dkey,
                        ikey,      (const char *)value, ttl_ms, max};
  size_t lens[] = {7, 40, 1, dl, il, len, strlen(ttl_ms), strlen(max)};
  if (len == 0) argv[5] = "";
  if ((err = command(kv, "put", put_script, 8, argv, lens, &r))) goto out;
  if (r->type != REDIS_REPLY_INTEGER)
    err = reply_error(kv, "put", r);
  else if (r->integer == 0)
    err = mw__kv_quota_error(&kv->limits);
out:
  freeReplyObject(r);
  free(dkey);
  free(ikey);
  return err;
}

static void red_free(void *ctx) {
  redkv_t *kv = ctx;
  if (!kv) return;
  for (size_t i = 0; i < kv->n_idle; i++) redisFree(kv->idle[i]);
  pthread_cond_destroy(&kv->idle_cond);
  pthread_mutex_destroy(&kv->lock);
  free(kv->host);
  free(kv);
}

/* Loads a script and keeps its SHA1 digest for EVALSHA. */
static mw_error_t *load_script(const redkv_t *kv, redisContext *c,
                               const char *script, char sha[41]) {
  redisReply *r = NULL;
  const char *argv[] = {"SCRIPT", "LOAD", script};
  mw_error_t *err = setup_command(kv, c, NULL, &r, 3, argv);
  if (err) return err;
  if (r->type != REDIS_REPLY_STRING || r->len != 40)
    err = reply_error(kv, NULL, r);
  else
    memcpy(sha, r->str, 41);
  freeReplyObject(r);
  return err;
}

mw_error_t *mw__kv_use_redis(mw_host_t *host, const char *hostname, int port,
                             int db, const mw_kv_limits_t *limits) {
  if (!host || !hostname)
    return mw_error_new(MW_ERR_MISUSE, "NULL host or hostname");
  mw_error_t *err = NULL;
  redisContext *c = NULL;
  sigpipe_guard_t guard;
  redkv_t *kv = calloc(1, sizeof *kv);
  if (!kv || !(kv->host = strdup(hostname))) {
    free(kv);
    return mw__nomem();
  }
  kv->limits = *limits;
  kv->port = port;
  kv->db = db;
  pthread_mutex_init(&kv->lock, NULL);
  pthread_cond_init(&kv->idle_cond, NULL);
  sigpipe_block(&guard);
  if (!(err = connect_one(kv, NULL, &c)) &&
      !(err = load_script(kv, c, put_script, kv->put_sha)))
    err = load_script(kv, c, del_script, kv->del_sha);
  sigpipe_restore(&guard);
  if (err) {
    if (c) redisFree(c);
    red_free(kv);
    return err;
  }
  kv->idle[kv->n_idle++] = c;
  kv->n_open = 1;
  static const mw_kv_vtable_t vt = {red_get, red_put, red_del};
  mw_host_set_kv(host, &vt, kv, red_free);
  return NULL;
}
