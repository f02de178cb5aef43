/*
 * bench_kv.c - key-value throughput of the built-in backends, side by side:
 * memory: (reference), sqlite:// (WAL, synchronous=FULL) and redis://.
 *
 *   direct  the backend's vtable called in a loop (1 thread, then 4)
 *   node    the `host` test component running 100 kv commands per
 *           execution: the cost a guest sees, permissions and key prefixing
 *           included
 *
 * usage: bench_kv COMPONENTS_DIR [--seconds S] [--dir DIR] [--redis URL]
 * Values are 100 bytes; keys cycle over 1000 names per thread (under the
 * default quota). SQLite files go to DIR (default /tmp; a tmpfs makes its
 * fsyncs free). Without --redis, a redis-server (no persistence) is started
 * on a free 127.0.0.1 port and stopped at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "marie_wasm.h"
#include "runtime/runtime_int.h" /* struct mw_host: the kv vtable */

#define REDIS_SERVER "/usr/bin/redis-server"
#define KEYS 1000
#define VALUE_BYTES 100
#define CMDS_PER_EXEC 100
#define MAX_THREADS 4

static double seconds = 1.0;
static char value[VALUE_BYTES + 1];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, mw_error_t *err) {
  fprintf(stderr, "bench_kv: %s: %s\n", what, mw_error_message(err));
  exit(1);
}

/* ---- direct vtable calls --------------------------------------------------- */

typedef struct job {
  const mw_host_t *host;
  int id;
  bool put;
  long ops;
} job_t;

static void *direct_job(void *arg) {
  job_t *j = arg;
  const mw_kv_vtable_t *vt = &j->host->kv;
  double end = now_s() + seconds;
  long n = 0;
  while (now_s() < end) {
    for (int k = 0; k < 16; k++, n++) {
      char key[64];
      int kl = snprintf(key, sizeof key, "bench%d\x1fkey-%ld", j->id, n % KEYS);
      mw_error_t *err;
      if (j->put) {
        err = vt->put(j->host->kv_ctx, key, (size_t)kl, (const uint8_t *)value,
                      VALUE_BYTES, -1);
      } else {
        uint8_t *v = NULL;
        size_t len;
        bool found;
        err = vt->get(j->host->kv_ctx, key, (size_t)kl, &v, &len, &found);
        free(v);
      }
      if (err) die(j->put ? "put" : "get", err);
    }
  }
  j->ops = n;
  return NULL;
}

static double direct_rate(const mw_host_t *h, bool put, int threads) {
  pthread_t t[MAX_THREADS];
  job_t jobs[MAX_THREADS];
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job_t){h, i, put, 0};
    pthread_create(&t[i], NULL, direct_job, &jobs[i]);
  }
  long total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += jobs[i].ops;
  }
  return (double)total / seconds;
}

/* ---- through a node ------------------------------------------------------------ */

typedef struct node {
  mw_engine_t *engine;
  mw_component_t *comp;
  mw_request_t *put, *get;
} node_t;

/* One execution's items: CMDS_PER_EXEC commands for the `host` component
 * (each item's json text is a plain command). perms stay the caller's. */
static mw_request_t *kv_request(bool put, const mw_permissions_t *perms) {
  mw_request_t *req;
  mw_error_t *err = mw_request_new(&req);
  for (int i = 0; !err && i < CMDS_PER_EXEC; i++) {
    char cmd[256];
    int n = put ? snprintf(cmd, sizeof cmd, "kv_put key-%d - %s", i, value)
                : snprintf(cmd, sizeof cmd, "kv_get key-%d", i);
    err = mw_request_add_item(req, cmd, (size_t)n, NULL, 0);
  }
  if (err) die("request", err);
  mw_request_set_permissions(req, perms);
  return req;
}

static double node_rate(node_t *nd, const mw_host_t *h, bool put) {
  mw_request_t *req = put ? nd->put : nd->get;
  mw_request_set_host(req, h);
  double end = now_s() + seconds;
  long execs = 0;
  while (now_s() < end) {
    mw_result_t *r;
    mw_error_t *err = mw_execute(nd->engine, nd->comp, req, &r);
    if (err) die("execute", err);
    const char *want = put ? "{\"op\":\"kv_put\",\"ok\":true}"
                           : "{\"op\":\"kv_get\",\"found\":true";
    if (mw_result_outcome(r) != MW_OUTCOME_OK ||
        mw_result_item_count(r) != CMDS_PER_EXEC ||
        strncmp(mw_result_item_json(r, 0, NULL), want, strlen(want)) != 0) {
      char *j = mw_result_to_json(r, MW_JSON_LOGS);
      fprintf(stderr, "bench_kv: unexpected result %s\n", j);
      exit(1);
    }
    mw_result_free(r);
    execs++;
  }
  return (double)execs * CMDS_PER_EXEC / seconds;
}

/* ---- redis-server ------------------------------------------------------------ */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static pid_t start_redis(int port, const char *dir) {
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  char *const argv[] = {REDIS_SERVER, "--port", p, "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir",
                        (char *)dir, "--loglevel", "warning", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execv(REDIS_SERVER, argv);
    _exit(127);
  }
  return pid;
}

/* A host on url, retrying for a few seconds while a server starts. */
static mw_host_t *open_host(const char *url) {
  mw_host_t *h = mw_host_new();
  mw_error_t *err = NULL;
  for (int i = 0; i < 50; i++) {
    if (!(err = mw_host_use_kv_url(h, url, NULL))) return h;
    if (mw_error_status(err) != MW_ERR_BACKEND) break;
    mw_error_free(err);
    err = NULL;
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
  die(url, err ? err : mw_error_new(MW_ERR_BACKEND, "cannot connect"));
  return NULL;
}

int main(int argc, char **argv) {
  const char *comp_dir = NULL, *dir = "/tmp", *redis_url = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
      char *end;
      seconds = strtod(argv[++i], &end);
      if (*end || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "bench_kv: --seconds must be in (0, 600]\n");
        return 64;
      }
    } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir = argv[++i];
    } else if (!strcmp(argv[i], "--redis") && i + 1 < argc) {
      redis_url = argv[++i];
    } else if (!comp_dir && argv[i][0] != '-') {
      comp_dir = argv[i];
    } else {
      comp_dir = NULL;
      break;
    }
  }
  if (!comp_dir) {
    fprintf(stderr, "usage: bench_kv COMPONENTS_DIR [--seconds S] [--dir DIR] "
                    "[--redis URL]\n");
    return 64;
  }
  memset(value, 'v', VALUE_BYTES);

  char tmp[512], sqlite_url[600], own_redis[64];
  snprintf(tmp, sizeof tmp, "%s/mw-bench-kv.XXXXXX", dir);
  if (!mkdtemp(tmp)) {
    perror(tmp);
    return 1;
  }
  snprintf(sqlite_url, sizeof sqlite_url, "sqlite://%s/kv.db", tmp);
  pid_t redis_pid = -1;
  if (!redis_url) {
    int port = free_port();
    redis_pid = start_redis(port, tmp);
    snprintf(own_redis, sizeof own_redis, "redis://127.0.0.1:%d/0", port);
    redis_url = own_redis;
  }

  node_t nd = {0};
  char path[4096];
  snprintf(path, sizeof path, "%s/host.wasm", comp_dir);
  mw_error_t *err = mw_engine_new(NULL, &nd.engine);
  if (!err) err = mw_component_load_file(nd.engine, path, &nd.comp);
  if (err) die(path, err);
  mw_permissions_t *perms = mw_permissions_new();
  mw_permissions_allow_kv(perms, true);
  if ((err = mw_permissions_set_kv_prefix(perms, "bench-node"))) die("prefix", err);
  nd.put = kv_request(true, perms);
  nd.get = kv_request(false, perms);

  const char *names[] = {"memory", "sqlite", "redis"};
  const char *urls[] = {"memory:", sqlite_url, redis_url};
  printf("KV ops/s, %d-byte values, %.1f s per cell; node: %d commands per "
         "execution of the `host` component\n",
         VALUE_BYTES, seconds, CMDS_PER_EXEC);
  printf("sqlite: %s   redis: %s\n", sqlite_url, redis_url);
  printf("%-8s %12s %12s %12s %12s %12s %12s\n", "backend", "put 1thr",
         "get 1thr", "put 4thr", "get 4thr", "node put", "node get");
  for (int b = 0; b < 3; b++) {
    mw_host_t *h = open_host(urls[b]);
    double p1 = direct_rate(h, true, 1), g1 = direct_rate(h, false, 1);
    double p4 = direct_rate(h, true, 4), g4 = direct_rate(h, false, 4);
    double np = node_rate(&nd, h, true), ng = node_rate(&nd, h, false);
    printf("%-8s %12.0f %12.0f %12.0f %12.0f %12.0f %12.0f\n", names[b], p1,
           g1, p4, g4, np, ng);
    fflush(stdout);
    mw_host_free(h);
  }

  mw_request_free(nd.put);
  mw_request_free(nd.get);
  mw_permissions_free(perms);
  mw_component_free(nd.comp);
  mw_engine_free(nd.engine);
  if (redis_pid > 0) {
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
  }
  char db[600];
  const char *sfx[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(db, sizeof db, "%s/kv.db%s", tmp, sfx[i]);
    unlink(db);
  }
  rmdir(tmp);
  return 0;
}
