/*
 * test_kv.c - the built-in key-value backends (memory:, sqlite:, redis:)
 * behind marie:node/kv: round trips and prefix isolation through the `host`
 * component, TTLs, quotas with the messages a guest sees, thread safety,
 * SQLite durability across kill -9, and Redis going away and coming back.
 *
 * A real redis-server runs on 127.0.0.1 at a free port for the whole group
 * (no persistence); SQLite files live in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_int.h" /* struct mw_host: direct vtable calls */
#include "test_util.h"

#define N(a) (sizeof(a) / sizeof *(a))
#define REDIS_SERVER "/usr/bin/redis-server"

typedef enum { BK_MEMORY, BK_SQLITE, BK_REDIS } backend_t;
static const backend_t bk_memory = BK_MEMORY, bk_sqlite = BK_SQLITE,
                       bk_redis = BK_REDIS;
static const char *const bk_names[] = {"memory", "sqlite", "redis"};

static char tmpdir[256];
static int redis_port;
static pid_t redis_pid = -1;
static int db_counter;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) continue;
}

/* ---- redis-server -------------------------------------------------------- */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

static bool redis_ping(void) {
  struct timeval tv = {0, 200000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
  bool ok = false;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "PING");
    ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
  }
  if (c) redisFree(c);
  return ok;
}

/* Starts redis-server on redis_port (argument array, no shell) and waits
 * until it answers PING. */
static int redis_start(void) {
  char port[16];
  snprintf(port, sizeof port, "%d", redis_port);
  char *const argv[] = {REDIS_SERVER, "--port", port, "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", tmpdir,
                        "--daemonize", "no", "--loglevel", "warning", NULL};
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      close(null);
    }
    execv(REDIS_SERVER, argv);
    _exit(127);
  }
  redis_pid = pid;
  for (int i = 0; i < 100; i++) {
    if (redis_ping()) return 0;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      redis_pid = -1;
      return -1;
    }
    sleep_ms(50);
  }
  return -1;
}

static void redis_stop(int sig) {
  if (redis_pid <= 0) return;
  kill(redis_pid, sig);
  if (sig == SIGSTOP) return;
  while (waitpid(redis_pid, NULL, 0) < 0 && errno == EINTR) continue;
  redis_pid = -1;
}

static void redis_flush(void) {
  redisContext *c = redisConnect("127.0.0.1", redis_port);
  assert_true(c && !c->err);
  redisReply *r = redisCommand(c, "FLUSHALL");
  assert_non_null(r);
  freeReplyObject(r);
  redisFree(c);
}

static long long redis_dbsize(void) {
  redisContext *c = redisConnect("127.0.0.1", redis_port);
  assert_true(c && !c->err);
  redisReply *r = redisCommand(c, "DBSIZE");
  assert_true(r && r->type == REDIS_REPLY_INTEGER);
  long long n = r->integer;
  freeReplyObject(r);
  redisFree(c);
  return n;
}

static int group_setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mw_test_kv.XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  if (access(REDIS_SERVER, X_OK) != 0) {
    fprintf(stderr, "test_kv: %s is missing (Debian package redis-server)\n",
            REDIS_SERVER);
    return -1;
  }
  if ((redis_port = free_port()) <= 0 || redis_start() != 0) {
    fprintf(stderr, "test_kv: cannot start redis-server on 127.0.0.1:%d\n",
            redis_port);
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  redis_stop(SIGTERM);
  /* The temporary directory holds only our .db/-wal/-shm files. */
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/rm", "rm", "-rf", "--", tmpdir, (char *)NULL);
    _exit(127);
  }
  if (pid > 0) waitpid(pid, NULL, 0);
  return 0;
}

/* ---- hosts ---------------------------------------------------------------- */

static void kv_url(backend_t b, char *out, size_t size) {
  if (b == BK_MEMORY)
    snprintf(out, size, "memory:");
  else if (b == BK_SQLITE)
    snprintf(out, size, "sqlite://%s/kv%d.db", tmpdir, ++db_counter);
  else
    snprintf(out, size, "redis://127.0.0.1:%d/0", redis_port);
}

static mw_host_t *url_host(const char *url, const mw_kv_limits_t *limits) {
  mw_host_t *h = mw_host_new();
  assert_non_null(h);
  TU_OK(mw_host_use_kv_url(h, url, limits));
  return h;
}

/* A host with a fresh, empty store of kind b; its URL in url_out if given. */
static mw_host_t *kv_host_at(backend_t b, const mw_kv_limits_t *limits,
                             char *url_out, size_t size) {
  char url[512];
  kv_url(b, url, sizeof url);
  if (b == BK_REDIS) redis_flush();
  if (url_out) snprintf(url_out, size, "%s", url);
  return url_host(url, limits);
}

static mw_host_t *kv_host(backend_t b, const mw_kv_limits_t *limits) {
  return kv_host_at(b, limits, NULL, 0);
}

static const char *perms_for(const char *prefix) {
  static char buf[256];
  snprintf(buf, sizeof buf,
           "{\"allow_kv\": true, \"kv_prefix\": \"%s\", \"timeout_ms\": 20000}",
           prefix);
  return buf;
}

#define PUT_OK "{\"op\":\"kv_put\",\"ok\":true}"
#define DEL_OK "{\"op\":\"kv_del\",\"ok\":true}"
#define GET_NONE "{\"op\":\"kv_get\",\"found\":false}"
#define GOT(v) "{\"op\":\"kv_get\",\"found\":true,\"value\":\"" v "\"}"
#define PUT_ERR(m) "{\"op\":\"kv_put\",\"ok\":false,\"error\":\"" m "\"}"

/* Runs cmds under prefix and checks each item against want (NULL: any). */
static void expect(const mw_host_t *h, const char *prefix,
                   const char *const *cmds, const char *const *want,
                   size_t n) {
  mw_result_t *r = tu_host_cmds(cmds, n, perms_for(prefix), h);
  for (size_t i = 0; i < n; i++)
    if (want[i] && strcmp(tu_item(r, i), want[i]) != 0)
      fail_msg("prefix '%s', '%s': got %s, want %s", prefix, cmds[i],
               tu_item(r, i), want[i]);
  mw_result_free(r);
}

/* ---- behaviour, each backend --------------------------------------------- */

static void round_trip_and_prefixes_stay_apart(void **state) {
  backend_t b = *(const backend_t *)*state;
  mw_host_t *h = kv_host(b, NULL);
  const char *w[] = {"kv_put b:x - one", "kv_get b:x", "kv_put b:x - two",
                     "kv_get b:x", "kv_put empty - ", "kv_get empty",
                     "kv_get missing"};
  const char *ww[] = {PUT_OK, GOT("one"), PUT_OK, GOT("two"), PUT_OK, GOT(""),
                      GET_NONE};
  expect(h, "a:", w, ww, N(w));
  /* "a:b" + ":x" reads as "a:" + "b:x" joined, but the separator keeps
   * them apart; and a node never sees another's keys by their own name. */
  const char *r[] = {"kv_get :x", "kv_get b:x", "kv_del b:x"};
  const char *rw[] = {GET_NONE, GET_NONE, DEL_OK};
  expect(h, "a:b", r, rw, N(r));
  const char *d[] = {"kv_get b:x", "kv_del b:x", "kv_get b:x", "kv_del b:x"};
  const char *dw[] = {GOT("two"), DEL_OK, GET_NONE, DEL_OK};
  expect(h, "a:", d, dw, N(d));
  mw_host_free(h);
}

static void quotas_refuse_with_clear_messages(void **state) {
  backend_t b = *(const backend_t *)*state;
  mw_kv_limits_t l;
  mw_kv_limits_init(&l);
  l.max_key_bytes = 16;
  l.max_value_bytes = 64;
  l.max_keys_per_prefix = 3;
  mw_host_t *h = kv_host(b, &l);
  char big[128], cmd_big[160];
  memset(big, 'v', 65);
  big[65] = '\0';
  snprintf(cmd_big, sizeof cmd_big, "kv_put k1 - %s", big);
#define FULL3 \
  PUT_ERR("kv quota: at most 3 keys per node; delete keys or let them expire")
  const char *w[] = {
      cmd_big,
      "kv_put k0123456789abcdef - v", /* 17 bytes */
      "kv_put k0123456789abcde - v",  /* 16 bytes: fits; 1 key */
      "kv_put k2 - v",                /* 2 keys */
      "kv_put k3 - v",                /* 3 keys */
      "kv_put k4 - v",                /* one too many */
      "kv_put k3 - overwrite",        /* not a new key */
      "kv_get k3",
      "kv_del k2",
      "kv_put k4 - v",                /* room again after the delete */
      "kv_put k5 - v"};
  const char *ww[] = {
      PUT_ERR("kv quota: value is 65 bytes, at most 64 allowed"),
      PUT_ERR("kv quota: key is 17 bytes, at most 16 allowed"),
      PUT_OK, PUT_OK, PUT_OK, FULL3, PUT_OK, GOT("overwrite"), DEL_OK,
      PUT_OK, FULL3};
  expect(h, "q1:", w, ww, N(w));
  /* Another node's namespace is unaffected by q1 being full. */
  const char *o[] = {"kv_put k1 - v", "kv_put k2 - v", "kv_put k3 - v",
                     "kv_get k1"};
  const char *ow[] = {PUT_OK, PUT_OK, PUT_OK, GOT("v")};
  expect(h, "q2:", o, ow, N(o));
  /* get and delete of a key too long to exist answer not found / ok. */
  const char *g[] = {"kv_get k0123456789abcdef", "kv_del k0123456789abcdef"};
  const char *gw[] = {GET_NONE, DEL_OK};
  expect(h, "q1:", g, gw, N(g));
  mw_host_free(h);
}

/* All three stores at once, so the suite sleeps once. */
static void ttl_expires_keys_and_frees_quota(void **state) {
  (void)state;
  mw_kv_limits_t l;
  mw_kv_limits_init(&l);
  l.max_keys_per_prefix = 2;
  mw_host_t *h[3];
  for (int b = 0; b < 3; b++) h[b] = kv_host((backend_t)b, &l);
  const char *w[] = {"kv_put short 1 s", "kv_put zero 0 z", "kv_get zero",
                     "kv_get short", "kv_put long - l", "kv_put third - t"};
  const char *ww[] = {PUT_OK, PUT_OK, GET_NONE, GOT("s"), PUT_OK,
                      PUT_ERR("kv quota: at most 2 keys per node; delete keys "
                              "or let them expire")};
  for (int b = 0; b < 3; b++) expect(h[b], "t:", w, ww, N(w));
  /* TTL 0 over an existing key removes it. */
  const char *z[] = {"kv_put long 0 gone", "kv_get long", "kv_put long - l"};
  const char *zw[] = {PUT_OK, GET_NONE, PUT_OK};
  for (int b = 0; b < 3; b++) expect(h[b], "t:", z, zw, N(z));
  sleep_ms(2100);
  /* The expired key is gone and no longer counts against the quota. */
  const char *a[] = {"kv_get short", "kv_get long", "kv_put third - t",
                     "kv_get third"};
  const char *aw[] = {GET_NONE, GOT("l"), PUT_OK, GOT("t")};
  for (int b = 0; b < 3; b++) {
    expect(h[b], "t:", a, aw, N(a));
    mw_host_free(h[b]);
  }
  /* Redis: the index of a namespace whose keys all expired goes too. */
  mw_host_t *r = kv_host(BK_REDIS, NULL);
  const char *e[] = {"kv_put a 1 x", "kv_put b 1 y"};
  const char *ew[] = {PUT_OK, PUT_OK};
  expect(r, "gone:", e, ew, N(e));
  assert_int_equal(redis_dbsize(), 3);
  sleep_ms(1200);
  assert_int_equal(redis_dbsize(), 0);
  mw_host_free(r);
}

/* ---- threads -------------------------------------------------------------- */

typedef struct worker {
  mw_host_t *h;
  int id, ok_puts;
  char failure[256];
} worker_t;

#define OPS_PER_THREAD 150
#define THREADS 6

static void *hammer(void *arg) {
  worker_t *w = arg;
  const mw_kv_vtable_t *vt = &w->h->kv;
  for (int i = 0; i < OPS_PER_THREAD && !w->failure[0]; i++) {
    char key[64], val[64];
    int kl = snprintf(key, sizeof key, "mt\x1fk%d-%d", w->id, i);
    int vl = snprintf(val, sizeof val, "value %d of %d", i, w->id);
    mw_error_t *err = vt->put(w->h->kv_ctx, key, (size_t)kl,
                              (const uint8_t *)val, (size_t)vl, -1);
    uint8_t *got = NULL;
    size_t gl = 0;
    bool found = false;
    if (!err) err = vt->get(w->h->kv_ctx, key, (size_t)kl, &got, &gl, &found);
    if (err) {
      snprintf(w->failure, sizeof w->failure, "%s", mw_error_message(err));
      mw_error_free(err);
    } else if (!found || gl != (size_t)vl || memcmp(got, val, gl) != 0) {
      snprintf(w->failure, sizeof w->failure, "%s: wrong value", key);
    }
    free(got);
    if (i % 2 == 0 && !w->failure[0])
      mw_error_free(vt->del(w->h->kv_ctx, key, (size_t)kl));
  }
  return NULL;
}

/* Every thread puts distinct keys into one namespace of max_keys_per_prefix
 * 40: exactly 40 puts may succeed, whatever the interleaving. */
static void *race_quota(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < 20; i++) {
    char key[64];
    int kl = snprintf(key, sizeof key, "race\x1fk%d-%d", w->id, i);
    mw_error_t *err = w->h->kv.put(w->h->kv_ctx, key, (size_t)kl,
                                   (const uint8_t *)"v", 1, -1);
    if (!err)
      w->ok_puts++;
    else if (mw_error_status(err) != MW_ERR_LIMIT)
      snprintf(w->failure, sizeof w->failure, "%s", mw_error_message(err));
    mw_error_free(err);
  }
  return NULL;
}

/* Odd threads use h2: for SQLite and Redis a second host on the same
 * store, like a second process. */
static void run_threads(mw_host_t *h, mw_host_t *h2, void *(*fn)(void *),
                        worker_t *ws) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ws[i] = (worker_t){.h = i % 2 ? h2 : h, .id = i};
    assert_int_equal(pthread_create(&t[i], NULL, fn, &ws[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < THREADS; i++)
    if (ws[i].failure[0]) fail_msg("thread %d: %s", i, ws[i].failure);
}

static void threads_share_a_store_safely(void **state) {
  backend_t b = *(const backend_t *)*state;
  worker_t ws[THREADS];
  double t0 = now_s();
  char url[512];
  /* Correctness under contention, not latency: a writer may wait long for
   * another host's write lock on a loaded machine or under valgrind. */
  mw_kv_limits_t l;
  mw_kv_limits_init(&l);
  l.timeout_ms = 60000;
  mw_host_t *h = kv_host_at(b, &l, url, sizeof url);
  mw_host_t *h2 = b == BK_MEMORY ? h : url_host(url, &l);
  run_threads(h, h2, hammer, ws);
  if (h2 != h) mw_host_free(h2);
  mw_host_free(h);
  l.max_keys_per_prefix = 40;
  h = kv_host_at(b, &l, url, sizeof url);
  h2 = b == BK_MEMORY ? h : url_host(url, &l);
  run_threads(h, h2, race_quota, ws);
  int ok = 0;
  for (int i = 0; i < THREADS; i++) ok += ws[i].ok_puts;
  assert_int_equal(ok, 40);
  fprintf(stderr, "  %s: %d threads on %s, %.2f s\n", bk_names[b], THREADS,
          h2 == h ? "one host" : "two hosts", now_s() - t0);
  if (h2 != h) mw_host_free(h2);
  mw_host_free(h);
}

/* ---- SQLite durability ----------------------------------------------------- */

#define DURABLE_N 100000
#define KILL_AFTER 300

static int durable_key(int i, char *key, size_t size) {
  return snprintf(key, size, "dur\x1fkey-%d", i);
}

static int durable_value(int i, char *val, size_t size) {
  return snprintf(val, size, "value %d %0200d", i, i);
}

/* The child: puts keys 0, 1, ... and reports each acknowledged index. */
static void durable_child(const char *url, int fd) {
  mw_host_t *h = mw_host_new();
  mw_error_t *err = mw_host_use_kv_url(h, url, NULL);
  if (err) _exit(3);
  for (int i = 0; i < DURABLE_N; i++) {
    char key[64], val[256];
    int kl = durable_key(i, key, sizeof key);
    int vl = durable_value(i, val, sizeof val);
    if ((err = h->kv.put(h->kv_ctx, key, (size_t)kl, (const uint8_t *)val,
                         (size_t)vl, -1)))
      _exit(4);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(5);
  }
  _exit(0);
}

static void sqlite_acked_puts_survive_kill9(void **state) {
  (void)state;
  char url[512];
  kv_url(BK_SQLITE, url, sizeof url);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    durable_child(url, fds[1]);
  }
  close(fds[1]);
  int last = -1, idx;
  while (last < KILL_AFTER && read(fds[0], &idx, sizeof idx) == sizeof idx)
    last = idx;
  kill(pid, SIGKILL); /* mid-put, most likely */
  while (read(fds[0], &idx, sizeof idx) == sizeof idx) last = idx;
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  assert_true(last >= KILL_AFTER);
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_kv_url(h, url, NULL));
  for (int i = 0; i <= last; i++) {
    char key[64], val[256];
    int kl = durable_key(i, key, sizeof key);
    int vl = durable_value(i, val, sizeof val);
    uint8_t *got = NULL;
    size_t gl = 0;
    bool found = false;
    TU_OK(h->kv.get(h->kv_ctx, key, (size_t)kl, &got, &gl, &found));
    if (!found || gl != (size_t)vl || memcmp(got, val, gl) != 0)
      fail_msg("acknowledged put %d of %d lost after kill -9", i, last);
    free(got);
  }
  fprintf(stderr, "  %d acknowledged puts, all present after SIGKILL\n",
          last + 1);
  mw_host_free(h);
}

/* ---- Redis failures --------------------------------------------------------- */

static void redis_outage_fails_fast_and_recovers(void **state) {
  (void)state;
  mw_kv_limits_t l;
  mw_kv_limits_init(&l);
  l.timeout_ms = 1000;
  mw_host_t *h = kv_host(BK_REDIS, &l);
  const char *w[] = {"kv_put k - before", "kv_get k"};
  const char *ww[] = {PUT_OK, GOT("before")};
  expect(h, "r:", w, ww, N(w));

  /* Killed: refused connections, each call fails at once. */
  redis_stop(SIGKILL);
  const char *down[] = {"kv_put k - during", "kv_get k", "kv_del k"};
  double t0 = now_s();
  mw_result_t *r = tu_host_cmds(down, N(down), perms_for("r:"), h);
  double took = now_s() - t0;
  assert_non_null(strstr(tu_item(r, 0), "\"ok\":false"));
  assert_non_null(strstr(tu_item(r, 0), "kv.put: redis: "));
  char port[16]; /* the guest does not learn where Redis runs */
  snprintf(port, sizeof port, "%d", redis_port);
  assert_null(strstr(tu_item(r, 0), port));
  assert_string_equal(tu_item(r, 1), GET_NONE);
  assert_non_null(strstr(tu_item(r, 2), "\"ok\":false"));
  fprintf(stderr, "  redis killed: 3 calls failed in %.3f s (%s)\n", took,
          tu_item(r, 0));
  assert_true(took < 3.0);
  mw_result_free(r);

  /* Back on the same port: the same host works again. */
  assert_int_equal(redis_start(), 0);
  const char *up[] = {"kv_get k", "kv_put k - after", "kv_get k"};
  const char *upw[] = {GET_NONE /* no persistence */, PUT_OK, GOT("after")};
  expect(h, "r:", up, upw, N(up));

  /* Stopped (alive but silent): bounded by timeout_ms, then recovers. */
  redis_stop(SIGSTOP);
  const char *one[] = {"kv_put k - slow"};
  t0 = now_s();
  r = tu_host_cmds(one, 1, perms_for("r:"), h);
  took = now_s() - t0;
  kill(redis_pid, SIGCONT);
  assert_non_null(strstr(tu_item(r, 0), "no answer within 1000 ms"));
  fprintf(stderr, "  redis stopped: put failed in %.3f s (%s)\n", took,
          tu_item(r, 0));
  assert_true(took >= 0.9 && took < 3.0);
  mw_result_free(r);
  const char *again[] = {"kv_put k - resumed", "kv_get k"};
  const char *againw[] = {PUT_OK, GOT("resumed")};
  expect(h, "r:", again, againw, N(again));
  mw_host_free(h);
}

static void redis_unreachable_at_creation_is_an_error(void **state) {
  (void)state;
  int port = free_port();
  char url[128];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
  mw_host_t *h = mw_host_new();
  double t0 = now_s();
  mw_error_t *err = mw_host_use_kv_url(h, url, NULL);
  assert_true(now_s() - t0 < 3.0);
  assert_non_null(err);
  assert_int_equal(mw_error_status(err), MW_ERR_BACKEND);
  char want[128];
  snprintf(want, sizeof want, "redis 127.0.0.1:%d/0: cannot connect", port);
  if (!strstr(mw_error_message(err), want))
    fail_msg("got '%s'", mw_error_message(err));
  mw_error_free(err);
  /* The host keeps no backend: calls say so. */
  const char *w[] = {"kv_put k - v"};
  const char *ww[] = {PUT_ERR("kv.put: no key-value backend configured")};
  expect(h, "x:", w, ww, N(w));
  mw_host_free(h);
}

/* ---- URLs ------------------------------------------------------------------ */

static void bad_urls_are_input_errors(void **state) {
  (void)state;
  static const struct {
    const char *url, *says;
  } bad[] = {
      {"", "unknown scheme"},
      {"ftp://x/y", "unknown scheme"},
      {"memory:x", "expected exactly 'memory:'"},
      {"memory://", "expected exactly 'memory:'"},
      {"sqlite:kv.db", "expected sqlite:///absolute/path.db"},
      {"sqlite://relative/kv.db", "must be absolute"},
      {"sqlite:////double/kv.db", "exactly one '/'"},
      {"sqlite:///", "names a directory"},
      {"sqlite:///tmp/dir/", "names a directory"},
      {"sqlite:///tmp/kv.db?mode=ro", "not allowed in the path"},
      {"sqlite:///tmp/k%20v.db", "not allowed in the path"},
      {"redis://", "host must be"},
      {"redis://:6379/0", "host must be"},
      {"redis://h:0/0", "port must be"},
      {"redis://h:65536/0", "port must be"},
      {"redis://h:port/0", "port must be"},
      {"redis://h:6379/x", "database number"},
      {"redis://h:6379/0/1", "database number"},
      {"redis://h:6379/0?timeout=1", "query"},
      {"redis://[::1/0", "unterminated"},
      {"rediss://h:6379/0", "TLS"},
      {"redis://h:6379/0 x", "space or control"},
  };
  mw_host_t *h = mw_host_new();
  for (size_t i = 0; i < N(bad); i++) {
    mw_error_t *err = mw_host_use_kv_url(h, bad[i].url, NULL);
    if (mw_error_status(err) != MW_ERR_INPUT)
      fail_msg("'%s': status %s (%s)", bad[i].url,
               mw_status_name(mw_error_status(err)), mw_error_message(err));
    char named[128];
    snprintf(named, sizeof named, "kv URL '%s'", bad[i].url);
    if (!strstr(mw_error_message(err), named) ||
        !strstr(mw_error_message(err), bad[i].says))
      fail_msg("'%s': message '%s'", bad[i].url, mw_error_message(err));
    mw_error_free(err);
  }
  /* A password never reaches the message. */
  mw_error_t *err = mw_host_use_kv_url(h, "redis://u:s3cret@h:6379/0", NULL);
  assert_int_equal(mw_error_status(err), MW_ERR_INPUT);
  assert_null(strstr(mw_error_message(err), "s3cret"));
  assert_non_null(strstr(mw_error_message(err), "redis://***@h:6379/0"));
  mw_error_free(err);
  /* Well-formed but cannot open: a backend error naming the path. */
  err = mw_host_use_kv_url(h, "sqlite:///nonexistent-dir-mw/kv.db", NULL);
  assert_int_equal(mw_error_status(err), MW_ERR_BACKEND);
  assert_non_null(strstr(mw_error_message(err), "/nonexistent-dir-mw/kv.db"));
  mw_error_free(err);
  /* Not a database. */
  char path[512], url[600];
  snprintf(path, sizeof path, "%s/not-a-db", tmpdir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int i = 0; i < 200; i++) fputs("this is not an SQLite file\n", f);
  fclose(f);
  snprintf(url, sizeof url, "sqlite://%s", path);
  err = mw_host_use_kv_url(h, url, NULL);
  assert_int_equal(mw_error_status(err), MW_ERR_BACKEND);
  assert_non_null(strstr(mw_error_message(err), path));
  mw_error_free(err);
  /* Good ones, with default parts. */
  TU_OK(mw_host_use_kv_url(h, "memory:", NULL));
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis_port);
  TU_OK(mw_host_use_kv_url(h, url, NULL));
  snprintf(url, sizeof url, "redis://localhost:%d/3", redis_port);
  TU_OK(mw_host_use_kv_url(h, url, NULL));
  mw_host_free(h);
}

/* The data outlives the host: a second host on the same file sees it. */
static void sqlite_data_outlives_the_host(void **state) {
  (void)state;
  char url[512];
  kv_url(BK_SQLITE, url, sizeof url);
  mw_host_t *h = mw_host_new();
  TU_OK(mw_host_use_kv_url(h, url, NULL));
  const char *w[] = {"kv_put kept - yes", "kv_put brief 1000 soon"};
  const char *ww[] = {PUT_OK, PUT_OK};
  expect(h, "p:", w, ww, N(w));
  mw_host_free(h);
  struct stat st; /* node data is private to the service's user */
  assert_int_equal(stat(url + strlen("sqlite://"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  h = mw_host_new();
  TU_OK(mw_host_use_kv_url(h, url, NULL));
  const char *r[] = {"kv_get kept", "kv_get brief"};
  const char *rw[] = {GOT("yes"), GOT("soon")};
  expect(h, "p:", r, rw, N(r));
  mw_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(round_trip_and_prefixes_stay_apart,
                                (void *)&bk_memory),
      cmocka_unit_test_prestate(round_trip_and_prefixes_stay_apart,
                                (void *)&bk_sqlite),
      cmocka_unit_test_prestate(round_trip_and_prefixes_stay_apart,
                                (void *)&bk_redis),
      cmocka_unit_test_prestate(quotas_refuse_with_clear_messages,
                                (void *)&bk_memory),
      cmocka_unit_test_prestate(quotas_refuse_with_clear_messages,
                                (void *)&bk_sqlite),
      cmocka_unit_test_prestate(quotas_refuse_with_clear_messages,
                                (void *)&bk_redis),
      cmocka_unit_test(ttl_expires_keys_and_frees_quota),
      cmocka_unit_test_prestate(threads_share_a_store_safely,
                                (void *)&bk_memory),
      cmocka_unit_test_prestate(threads_share_a_store_safely,
                                (void *)&bk_sqlite),
      cmocka_unit_test_prestate(threads_share_a_store_safely,
                                (void *)&bk_redis),
      cmocka_unit_test(sqlite_acked_puts_survive_kill9),
      cmocka_unit_test(sqlite_data_outlives_the_host),
      cmocka_unit_test(redis_outage_fails_fast_and_recovers),
      cmocka_unit_test(redis_unreachable_at_creation_is_an_error),
      cmocka_unit_test(bad_urls_are_input_errors),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
