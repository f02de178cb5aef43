/*
 * kv_sqlite.c - the SQLite key-value backend ("sqlite:///path/kv.db").
 *
 * Durability: WAL mode with synchronous=FULL. A put returns only after its
 * transaction has committed; in WAL mode the commit has then been written
 * to the -wal file, and with FULL also fsync'd. NORMAL would already
 * survive kill -9 of this process (the write() has reached the kernel),
 * but could lose the last puts on power loss or a kernel crash; a workflow
 * that saw ok moves on, so we pay one fsync per put for FULL. Reads do not
 * sync. journal_size_limit keeps the -wal file bounded after checkpoints.
 *
 * Schema (user_version 1):
 *   kv(key BLOB PRIMARY KEY, ns BLOB, value BLOB, expires INTEGER NULL)
 *     expires is Unix milliseconds; NULL means never.
 *   kv_count(ns BLOB PRIMARY KEY, n INTEGER): rows per namespace, kept by
 *     triggers on kv, so the quota is an O(1) lookup and stays right even
 *     when other processes write the same file. Expired rows are counted
 *     until purged; a namespace at its quota first purges its own expired
 *     rows, so dead keys never lock a node out.
 * Expired rows are never returned (filtered in the SELECT) and are purged
 * a few at a time by puts, at most once a second per connection.
 *
 * Threads: every connection has its own prepared statements and is used by
 * one thread at a time. Puts and deletes share one writer connection,
 * taken in turn through a mutex (waiting at most limits.timeout_ms): its
 * page cache stays warm, and this process's writers queue on the mutex
 * instead of polling SQLite's sleeping busy handler, which remains for
 * writers in other processes (busy timeout: limits.timeout_ms). Gets take
 * a connection from a pool of readers, which WAL lets run in parallel
 * with the writer.
 *
 * A new database file is created readable by its owner only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/host_int.h"
#include "host/kv_int.h"
#include "util/error_int.h"


#define POOL_MAX 8
#define SCHEMA_VERSION 1
#define PURGE_EVERY_MS 1000
#define PURGE_BATCH "64"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kv ("
    "  key BLOB PRIMARY KEY NOT NULL, ns BLOB NOT NULL,"
    "  value BLOB NOT NULL, expires INTEGER);"
    "CREATE INDEX IF NOT EXISTS kv_by_ns ON kv(ns, expires);"
    "CREATE INDEX IF NOT EXISTS kv_by_expiry ON kv(expires)"
    "  WHERE expires IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS kv_count ("
    "  ns BLOB PRIMARY KEY NOT NULL, n INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS kv_count_ins AFTER INSERT ON kv BEGIN"
    "  INSERT OR IGNORE INTO kv_count(ns, n) VALUES (new.ns, 0);"
    "  UPDATE kv_count SET n = n + 1 WHERE ns = new.ns;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS kv_count_del AFTER DELETE ON kv BEGIN"
    "  UPDATE kv_count SET n = n - 1 WHERE ns = old.ns;"
    "  DELETE FROM kv_count WHERE ns = old.ns AND n <= 0;"
    "END;"
    "PRAGMA user_version = 1;";

enum {
  ST_GET,
  ST_UPDATE,
  ST_INSERT,
  ST_DELETE,
  ST_COUNT,
  ST_SWEEP_NS,
  ST_PURGE,
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_GET] = "SELECT value FROM kv WHERE key = ?1"
               " AND (expires IS NULL OR expires > ?2)",
    [ST_UPDATE] = "UPDATE kv SET value = ?2, expires = ?3 WHERE key = ?1",
    [ST_INSERT] = "INSERT INTO kv(key, ns, value, expires)"
                  " VALUES (?1, ?2, ?3, ?4)",
    [ST_DELETE] = "DELETE FROM kv WHERE key = ?1",
    [ST_COUNT] = "SELECT n FROM kv_count WHERE ns = ?1",
    [ST_SWEEP_NS] = "DELETE FROM kv WHERE ns = ?1 AND expires <= ?2",
    [ST_PURGE] = "DELETE FROM kv WHERE key IN (SELECT key FROM kv"
                 " WHERE expires <= ?1 LIMIT " PURGE_BATCH ")",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

typedef struct conn {
  sqlite3 *db;
  sqlite3_stmt *st[ST_N];
  int64_t last_purge_ms;
} conn_t;

typedef struct sqlkv {
  pthread_mutex_t lock; /* the pool */
  pthread_cond_t idle_cond;
  pthread_mutex_t write_lock; /* guards writer */
  conn_t *writer;
  mw_kv_limits_t limits;
  char *path;
  conn_t *idle[POOL_MAX]; /* readers */
  size_t n_idle, n_open;
} sqlkv_t;

/* ---- connections ------------------------------------------------------- */

static mw_error_t *db_error(sqlite3 *db, const char *path, const char *what) {
  int rc = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
  if (rc == SQLITE_NOMEM) return mw__nomem();
  return mw_error_new(MW_ERR_BACKEND, "kv sqlite '%s': %s: %s", path, what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void conn_close(conn_t *c) {
  if (!c) return;
  for (int i = 0; i < ST_N; i++) sqlite3_finalize(c->st[i]);
  sqlite3_close(c->db);
  free(c);
}

/* Runs a PRAGMA that answers one text row and checks the answer. */
static bool pragma_is(sqlite3 *db, const char *sql, const char *want) {
  sqlite3_stmt *st = NULL;
  bool ok = false;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(st, 0);
    ok = v && strcmp(v, want) == 0;
  }
  sqlite3_finalize(st);
  return ok;
}

static int user_version(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Creates the schema if missing, in one immediate transaction so that
 * processes opening a new file at once do not race. */
static mw_error_t *ensure_schema(sqlite3 *db, const char *path) {
  mw_error_t *err = NULL;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_error(db, path, "cannot lock to create the schema");
  int v = user_version(db);
  if (v < 0) {
    err = db_error(db, path, "cannot read the schema version");
  } else if (v > SCHEMA_VERSION) {
    err = mw_error_new(MW_ERR_BACKEND,
                       "kv sqlite '%s': schema version %d is newer than this "
                       "library's (%d)",
                       path, v, SCHEMA_VERSION);
  } else if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
    err = db_error(db, path, "cannot create the schema");
  } else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    err = db_error(db, path, "cannot commit the schema");
  }
  if (err && !sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return err;
}

static mw_error_t *conn_open(const sqlkv_t *kv, bool create_schema,
                             conn_t **out) {
  mw_error_t *err = NULL;
  conn_t *c = calloc(1, sizeof *c);
  if (!c) return mw__nomem();
  /* NOMUTEX: the pool hands a connection to one thread at a time. */
  int rc = sqlite3_open_v2(kv->path, &c->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX,
                           NULL);
  if (rc != SQLITE_OK) {
    err = db_error(c->db, kv->path, "cannot open");
    goto out;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, (int)kv->limits.timeout_ms);
  if (!pragma_is(c->db, "PRAGMA journal_mode = WAL", "wal")) {
    err = sqlite3_errcode(c->db) != SQLITE_OK
              ? db_error(c->db, kv->path, "cannot switch to WAL mode")
              : mw_error_new(MW_ERR_BACKEND,
                             "kv sqlite '%s': WAL mode is not available "
                             "on this file system",
                             kv->path);
    goto out;
  }
  if (sqlite3_exec(c->db,
                   "PRAGMA synchronous = FULL;"
                   "PRAGMA journal_size_limit = 67108864;",
                   NULL, NULL, NULL) != SQLITE_OK) {
    err = db_error(c->db, kv->path, "cannot set synchronous=FULL");
    goto out;
  }
  if (create_schema && (err = ensure_schema(c->db, kv->path))) goto out;
  for (int i = 0; i < ST_N; i++)
    if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &c->st[i], NULL) != SQLITE_OK) {
      err = db_error(c->db, kv->path, "not a marie-wasm kv database");
      goto out;
    }
out:
  if (err) {
    conn_close(c);
    c = NULL;
  }
  *out = c;
  return err;
}

/* Now plus limits.timeout_ms on the clock pthread's timed waits use. */
static struct timespec deadline_in(const sqlkv_t *kv) {
  struct timespec d;
  clock_gettime(CLOCK_REALTIME, &d);
  d.tv_sec += kv->limits.timeout_ms / 1000;
  d.tv_nsec += (long)(kv->limits.timeout_ms % 1000) * 1000000;
  if (d.tv_nsec >= 1000000000) {
    d.tv_sec++;
    d.tv_nsec -= 1000000000;
  }
  return d;
}

/* Takes an idle reader, opens one while the pool has room, or waits at
 * most limits.timeout_ms for one to come back. */
static mw_error_t *acquire(sqlkv_t *kv, conn_t **out) {
  struct timespec deadline = deadline_in(kv);
  pthread_mutex_lock(&kv->lock);
  while (kv->n_idle == 0 && kv->n_open >= POOL_MAX) {
    if (pthread_cond_timedwait(&kv->idle_cond, &kv->lock, &deadline) ==
        ETIMEDOUT) {
      pthread_mutex_unlock(&kv->lock);
      return mw_error_new(MW_ERR_BACKEND,
                          "kv.get: sqlite: all %d readers busy for %u ms",
                          POOL_MAX, kv->limits.timeout_ms);
    }
  }
  if (kv->n_idle) {
    *out = kv->idle[--kv->n_idle];
    pthread_mutex_unlock(&kv->lock);
    return NULL;
  }
  kv->n_open++; /* reserve the slot, open outside the lock */
  pthread_mutex_unlock(&kv->lock);
  mw_error_t *err = conn_open(kv, false, out);
  if (err) {
    pthread_mutex_lock(&kv->lock);
    kv->n_open--;
    pthread_cond_signal(&kv->idle_cond);
    pthread_mutex_unlock(&kv->lock);
  }
  return err;
}

/* Returns a reader; its statement was reset, ending its read transaction. */
static void release(sqlkv_t *kv, conn_t *c) {
  pthread_mutex_lock(&kv->lock);
  kv->idle[kv->n_idle++] = c;
  pthread_cond_signal(&kv->idle_cond);
  pthread_mutex_unlock(&kv->lock);
}

/* Takes the writer connection, waiting at most limits.timeout_ms. */
static mw_error_t *write_begin(sqlkv_t *kv, const char *op, conn_t **out) {
  struct timespec deadline = deadline_in(kv);
  if (pthread_mutex_timedlock(&kv->write_lock, &deadline) != 0)
    return mw_error_new(MW_ERR_BACKEND,
                        "kv.%s: sqlite: other writers held it for %u ms", op,
                        kv->limits.timeout_ms);
  *out = kv->writer;
  return NULL;
}

/* Gives the writer back, never inside a transaction. */
static void write_end(sqlkv_t *kv, conn_t *c) {
  if (!sqlite3_get_autocommit(c->db)) {
    sqlite3_step(c->st[ST_ROLLBACK]);
    sqlite3_reset(c->st[ST_ROLLBACK]);
  }
  pthread_mutex_unlock(&kv->write_lock);
}

/* ---- statements ---------------------------------------------------------- */

/* Steps st to completion (no rows expected), resets it and clears its
 * bindings so borrowed buffers are not kept. */
static int run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int bind_bytes(sqlite3_stmt *st, int i, const void *p, size_t n) {
  /* A zero-length blob, not NULL: SQLite binds NULL for a NULL pointer. */
  if (n == 0) return sqlite3_bind_zeroblob(st, i, 0);
  return sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

static int bind_expires(sqlite3_stmt *st, int i, int64_t expires_ms) {
  return expires_ms ? sqlite3_bind_int64(st, i, expires_ms)
                    : sqlite3_bind_null(st, i);
}

static mw_error_t *op_error(const sqlkv_t *kv, const conn_t *c,
                            const char *op) {
  int rc = sqlite3_extended_errcode(c->db);
  if (rc == SQLITE_NOMEM) return mw__nomem();
  /* Seen by the guest: the file's path stays out of it. */
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    return mw_error_new(MW_ERR_BACKEND,
                        "kv.%s: sqlite: the database is locked (waited %u ms)",
                        op, kv->limits.timeout_ms);
  return mw_error_new(MW_ERR_BACKEND, "kv.%s: sqlite: %s", op,
                      sqlite3_errmsg(c->db));
}

/* The namespace's row count (expired rows included until purged). */
static bool ns_count(conn_t *c, const char *key, size_t nl, int64_t *out) {
  sqlite3_stmt *st = c->st[ST_COUNT];
  bind_bytes(st, 1, key, nl);
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Inside the put's transaction: refuses a new key when its namespace is
 * full, after purging the namespace's expired rows. */
static mw_error_t *check_quota(sqlkv_t *kv, conn_t *c, const char *key,
                               size_t n, int64_t now) {
  size_t nl = mw__kv_ns_len(key, n);
  int64_t count;
  if (!ns_count(c, key, nl, &count)) return op_error(kv, c, "put");
  if ((uint64_t)count < kv->limits.max_keys_per_prefix) return NULL;
  sqlite3_stmt *st = c->st[ST_SWEEP_NS];
  bind_bytes(st, 1, key, nl);
  sqlite3_bind_int64(st, 2, now);
  if (run(st) != SQLITE_DONE || !ns_count(c, key, nl, &count))
    return op_error(kv, c, "put");
  if ((uint64_t)count < kv->limits.max_keys_per_prefix) return NULL;
  return mw__kv_quota_error(&kv->limits);
}

/* ---- the vtable ------------------------------------------------------------ */

static mw_error_t *sql_get(void *ctx, const char *key, size_t n,
                           uint8_t **out, size_t *out_len, bool *found) {
  sqlkv_t *kv = ctx;
  conn_t *c = NULL;
  *found = false;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  mw_error_t *err = acquire(kv, &c);
  if (err) return err;
  sqlite3_stmt *st = c->st[ST_GET];
  bind_bytes(st, 1, key, n);
  sqlite3_bind_int64(st, 2, mw__kv_now_ms());
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    *out = malloc(len ? len : 1);
    if (!*out) {
      err = mw__nomem();
    } else {
      if (len) memcpy(*out, p, len);
      *out_len = len;
      *found = true;
    }
  } else if (rc != SQLITE_DONE) {
    err = op_error(kv, c, "get");
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  release(kv, c);
  return err;
}

static mw_error_t *sql_del(void *ctx, const char *key, size_t n) {
  sqlkv_t *kv = ctx;
  conn_t *c = NULL;
  if (mw__kv_key_too_long(&kv->limits, key, n)) return NULL;
  mw_error_t *err = write_begin(kv, "delete", &c);
  if (err) return err;
  sqlite3_stmt *st = c->st[ST_DELETE];
  bind_bytes(st, 1, key, n);
  if (run(st) != SQLITE_DONE) err = op_error(kv, c, "delete");
  write_end(kv, c);
  return err;
}

static mw_error_t *sql_put(void *ctx, const char *key, size_t n,
                           const uint8_t *value, size_t len, int64_t ttl) {
  sqlkv_t *kv = ctx;
  conn_t *c = NULL;
  sqlite3_stmt *st;
  mw_error_t *err = mw__kv_check_put(&kv->limits, key, n, len);
  if (err) return err;
  if (ttl == 0) return sql_del(ctx, key, n); /* expires at once */
  if ((err = write_begin(kv, "put", &c))) return err;
  int64_t now = mw__kv_now_ms(), expires = mw__kv_expiry_ms(now, ttl);
  if (run(c->st[ST_BEGIN]) != SQLITE_DONE) goto fail;
  if (now - c->last_purge_ms >= PURGE_EVERY_MS) {
    sqlite3_bind_int64(c->st[ST_PURGE], 1, now);
    if (run(c->st[ST_PURGE]) != SQLITE_DONE) goto fail;
    c->last_purge_ms = now;
  }
  /* An existing key (even expired) is overwritten in place: the count of
   * its namespace does not change. */
  st = c->st[ST_UPDATE];
  bind_bytes(st, 1, key, n);
  bind_bytes(st, 2, value, len);
  bind_expires(st, 3, expires);
  if (run(st) != SQLITE_DONE) goto fail;
  if (sqlite3_changes(c->db) == 0) {
    if ((err = check_quota(kv, c, key, n, now))) goto out;
    st = c->st[ST_INSERT];
    bind_bytes(st, 1, key, n);
    bind_bytes(st, 2, key, mw__kv_ns_len(key, n));
    bind_bytes(st, 3, value, len);
    bind_expires(st, 4, expires);
    if (run(st) != SQLITE_DONE) goto fail;
  }
  /* The put is acknowledged only once COMMIT has returned. */
  if (run(c->st[ST_COMMIT]) != SQLITE_DONE) goto fail;
  goto out;
fail:
  err = op_error(kv, c, "put");
out:
  write_end(kv, c); /* rolls back what did not commit */
  return err;
}

static void sql_free(void *ctx) {
  sqlkv_t *kv = ctx;
  if (!kv) return;
  for (size_t i = 0; i < kv->n_idle; i++) conn_close(kv->idle[i]);
  conn_close(kv->writer);
  pthread_cond_destroy(&kv->idle_cond);
  pthread_mutex_destroy(&kv->write_lock);
  pthread_mutex_destroy(&kv->lock);
  free(kv->path);
  free(kv);
}

mw_error_t *mw__kv_use_sqlite(mw_host_t *host, const char *path,
                              const mw_kv_limits_t *limits) {
  if (!host || !path) return mw_error_new(MW_ERR_MISUSE, "NULL host or path");
  if (!sqlite3_threadsafe())
    return mw_error_new(MW_ERR_BACKEND,
                        "kv sqlite: SQLite was built without thread support");
  mw_error_t *err = NULL;
  sqlkv_t *kv = calloc(1, sizeof *kv);
  if (!kv || !(kv->path = strdup(path))) {
    free(kv);
    return mw__nomem();
  }
  kv->limits = *limits;
  pthread_mutex_init(&kv->lock, NULL);
  pthread_mutex_init(&kv->write_lock, NULL);
  pthread_cond_init(&kv->idle_cond, NULL);
  /* KV data may be private to nodes: a new file is created 0600 (SQLite
   * gives its -wal and -shm files the database file's mode). */
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd); /* else sqlite3_open_v2 reports why */
  /* The writer opens now, so a bad path or file fails here. */
  if ((err = conn_open(kv, true, &kv->writer))) {
    sql_free(kv);
    return err;
  }
  static const mw_kv_vtable_t vt = {sql_get, sql_put, sql_del};
  mw_host_set_kv(host, &vt, kv, sql_free);
  return NULL;
}
