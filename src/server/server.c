/*
 * server.c - the service's life: set up the embedded defaults and the
 * shared state (engine, store, host, compiler, registry), listen, wait for
 * SIGTERM/SIGINT, drain, tear down. Also the execution slots that keep at
 * most --workers executions running at once.
 *
 * Shutdown: the listening socket is closed first (new connections are
 * refused, so a load balancer moves on), requests already in progress run
 * to the end, keep-alive clients are told "Connection: close", and once
 * nothing is open the daemon stops and the process exits 0. When
 * --shutdown-timeout passes or a second signal comes first, the process
 * exits 70 at once, abandoning what still runs. Signals are blocked in
 * every thread and taken with sigwait here, so no handler runs in a random
 * thread.
 */
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "server/server.h"

uint64_t srv_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t srv_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool srv_slot_acquire(server_t *s, uint64_t deadline_ms) {
  pthread_mutex_lock(&s->lock);
  while (s->slots_free == 0) {
    uint64_t now = srv_now_ms();
    if (now >= deadline_ms) {
      pthread_mutex_unlock(&s->lock);
      return false;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t wait = deadline_ms - now;
    until.tv_sec += (time_t)(wait / 1000);
    until.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&s->cond, &s->lock, &until);
  }
  s->slots_free--;
  pthread_mutex_unlock(&s->lock);
  return true;
}

void srv_slot_release(server_t *s) {
  pthread_mutex_lock(&s->lock);
  s->slots_free++;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

/* dir/name, malloc'd. */
static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static mw_error_t *make_dir(const char *path) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return mw_error_new(MW_ERR_IO, "%s: %s", path, strerror(errno));
  return NULL;
}

/* Everything a request needs, built once. The compiler is optional: without
 * bubblewrap or toolchains the service still executes components. */
static mw_error_t *setup(server_t *s) {
  mw_error_t *err = make_dir(s->cfg.data_dir);
  if (err) return err;
  char *data = realpath(s->cfg.data_dir, NULL);
  if (!data) return mw_error_new(MW_ERR_IO, "%s: %s", s->cfg.data_dir, strerror(errno));
  char *cache = join(data, "engine-cache"), *store = join(data, "store");
  char *kv = malloc(strlen(data) + 32);
  s->tmp_dir = join(data, "tmp");
  if (!cache || !store || !kv || !s->tmp_dir) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto out;
  }
  snprintf(kv, strlen(data) + 32, "sqlite://%s/kv.db", data);
  if ((err = make_dir(s->tmp_dir))) goto out;

  mw_engine_config_t *ec = mw_engine_config_new();
  if (!ec) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto out;
  }
  err = mw_engine_config_cache_dir(ec, cache);
  /* At most `workers` instances live at once (the slots); a few spare. */
  mw_engine_config_pool_instances(ec, s->cfg.workers + 4);
  if (!err) err = mw_engine_new(ec, &s->engine);
  mw_engine_config_free(ec);
  if (err) goto out;

  if ((err = mw_store_open(s->cfg.store ? s->cfg.store : store, &s->store))) goto out;
  if (!(s->host = mw_host_new())) {
    err = mw_error_new(MW_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((err = mw_host_use_kv_url(s->host, s->cfg.kv_url ? s->cfg.kv_url : kv, NULL)))
    goto out;
  mw_http_options_t http;
  mw_http_options_init(&http);
  http.allow_private_network = s->cfg.allow_private_network;
  if ((err = mw_host_use_curl_http(s->host, &http))) goto out;
  if ((err = srv_registry_new(s->engine, s->store, s->tmp_dir, s->cfg.cache_entries,
                              &s->metrics, &s->registry)))
    goto out;
  if (s->cfg.token_file) {
    if ((err = srv_auth_load(s->cfg.token_file, s->token_digest))) goto out;
    s->auth = true;
  }
  mw_error_t *cerr = mw_compiler_new(NULL, &s->compiler);
  if (cerr) {
    s->compiler_problem = strdup(mw_error_message(cerr));
    srv_log("warn", "POST /v1/compile is unavailable",
            json_pack("{s:s}", "error", mw_error_message(cerr)));
    mw_error_free(cerr);
  }
out:
  free(data);
  free(cache);
  free(store);
  free(kv);
  return err;
}

static void teardown(server_t *s) {
  srv_registry_free(s->registry);
  mw_compiler_free(s->compiler);
  free(s->compiler_problem);
  mw_host_free(s->host);
  mw_store_free(s->store);
  mw_engine_free(s->engine);
  free(s->tmp_dir);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  OPENSSL_cleanse(s->token_digest, sizeof s->token_digest);
}

/* Waits until no request is open: true. False at the deadline or at a
 * second signal, with requests still running. */
static bool drain(server_t *s, const sigset_t *sigs) {
  uint64_t deadline = srv_now_ms() + (uint64_t)s->cfg.shutdown_timeout_s * 1000u;
  for (;;) {
    unsigned open = atomic_load(&s->open_requests);
    if (open == 0) return true;
    const char *why = NULL;
    struct timespec tick = {0, 50 * 1000000L};
    if (srv_now_ms() >= deadline) why = "shutdown timeout";
    else if (sigtimedwait(sigs, NULL, &tick) > 0) why = "second signal";
    if (why) {
      srv_log("warn", "stopping with requests still open",
              json_pack("{s:s, s:i}", "reason", why, "open_requests", (int)open));
      return false;
    }
  }
}

int srv_run(const srv_config_t *cfg) {
  server_t *s = calloc(1, sizeof *s);
  if (!s) return cli_fail(mw_error_new(MW_ERR_NOMEM, "out of memory"), "serve");
  s->cfg = *cfg;
  s->slots_free = cfg->workers;
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca; /* slot waits count monotonic time */
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);

  /* Block the stop signals before any thread starts, so all inherit it. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-reply is not our death */

  int rc = MW_EXIT_OK;
  mw_error_t *err = setup(s);
  if (err) {
    rc = cli_fail(err, "serve");
    goto out;
  }
  char msg[512];
  if (!(s->daemon = srv_http_start(s, msg, sizeof msg))) {
    fprintf(stderr, "marie-wasm: serve: %s\n", msg);
    rc = MW_EXIT_FAILURE;
    goto out;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv_log("info", "listening",
          json_pack("{s:s, s:i, s:i, s:i, s:b, s:s, s:s}", "listen", cfg->listen, "port",
                    di ? (int)di->port : 0, "workers", (int)cfg->workers,
                    "max_concurrency", (int)cfg->max_concurrency, "auth", s->auth,
                    "version", mw_version(), "wasmtime", mw_wasmtime_version()));

  int sig = 0;
  while (sigwait(&sigs, &sig) != 0) continue;
  srv_log("info", "draining", json_pack("{s:s, s:i}", "signal",
                                        sig == SIGTERM ? "SIGTERM" : "SIGINT", "open_requests",
                                        (int)atomic_load(&s->open_requests)));
  atomic_store(&s->draining, true);
  MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
  if (lfd != MHD_INVALID_SOCKET) close(lfd);
  if (!drain(s, &sigs)) {
    /* The daemon would wait for every handler (a compile can take
     * minutes); the process ends instead, and the clients still waiting see
     * their connections close. Sandboxed compiles die with us. */
    _exit(MW_EXIT_FAILURE);
  }
  MHD_stop_daemon(s->daemon);
  srv_log("info", "stopped", NULL);
out:
  teardown(s);
  free(s);
  return rc;
}
