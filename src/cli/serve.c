/*
 * serve.c - `marie-wasm serve`: the command line of the HTTP service
 * (src/server/). Options may also come from MW_SERVE_* environment
 * variables, which suits containers; a flag wins over its variable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "server/server.h"

static const char help[] =
    "usage: marie-wasm serve [--listen HOST:PORT] [options]\n"
    "\n"
    "Serves the JSON API (docs/openapi.yaml): POST /v1/compile, POST /v1/execute,\n"
    "POST /v1/components, GET /v1/components/{id}, GET /healthz, GET /metrics.\n"
    "Access logs go to stderr as JSON lines. SIGTERM or SIGINT drains: new\n"
    "connections are refused, requests in progress finish, then it exits 0\n"
    "(70 when --shutdown-timeout passes or a second signal comes first).\n"
    "Deployment, scale-out and health checks: docs/DEPLOY.md.\n"
    "\n"
    "options (environment variable in brackets):\n"
    "  --listen HOST:PORT     address to listen on [MW_SERVE_LISTEN]\n"
    "                         (default 127.0.0.1:8080; [::1]:8080 for IPv6)\n"
    "  --data DIR             embedded defaults: DIR/store (artifacts), DIR/kv.db\n"
    "                         (SQLite KV), DIR/engine-cache, DIR/tmp\n"
    "                         [MW_SERVE_DATA] (default ./marie-data)\n"
    "  --kv URL               key-value store shared by nodes: sqlite:///abs/kv.db,\n"
    "                         redis://host:port/db, memory: [MW_SERVE_KV]\n"
    "  --store LOC            artifact store: a directory or s3://bucket/prefix\n"
    "                         [MW_SERVE_STORE]\n"
    "  --workers N            executions running at once [MW_SERVE_WORKERS]\n"
    "                         (default: the number of CPUs)\n"
    "  --max-concurrency N    API requests admitted at once; more get 429\n"
    "                         [MW_SERVE_MAX_CONCURRENCY] (default 16 x workers)\n"
    "  --max-connections N    open connections [MW_SERVE_MAX_CONNECTIONS] (1024)\n"
    "  --max-body BYTES       largest request body; more get 413\n"
    "                         [MW_SERVE_MAX_BODY] (default 33554432 = 32 MiB)\n"
    "  --max-timeout-ms MS    cap on an execution's timeout_ms, and the longest\n"
    "                         wait for a worker [MW_SERVE_MAX_TIMEOUT_MS] (30000)\n"
    "  --cache-entries N      compiled components kept in memory\n"
    "                         [MW_SERVE_CACHE_ENTRIES] (default 64)\n"
    "  --token-file FILE      require 'Authorization: Bearer <token in FILE>' on\n"
    "                         everything but /healthz [MW_SERVE_TOKEN_FILE]\n"
    "  --shutdown-timeout S   longest drain on SIGTERM [MW_SERVE_SHUTDOWN_TIMEOUT]\n"
    "                         (default 60)\n"
    "  --allow-private-network\n"
    "                         let nodes' http-client reach loopback and private\n"
    "                         addresses (local testing only)\n"
    "\n"
    "example:\n"
    "  openssl rand -hex 32 > token\n"
    "  marie-wasm serve --listen 127.0.0.1:8080 --token-file token &\n"
    "  curl -s -H \"Authorization: Bearer $(cat token)\" \\\n"
    "       -H 'Content-Type: application/wasm' --data-binary @node.wasm \\\n"
    "       'http://127.0.0.1:8080/v1/components?node_id=hello'\n";

/* A number in [lo, hi] from a flag or variable; false and a message if not. */
static bool number(const char *what, const char *text, unsigned long long lo,
                   unsigned long long hi, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi) {
    fprintf(stderr, "marie-wasm serve: %s: expected a number from %llu to %llu, got '%s'\n",
            what, lo, hi, text);
    return false;
  }
  *out = v;
  return true;
}

int cmd_serve(int argc, char **argv) {
  enum { O_LISTEN = 256, O_DATA, O_KV, O_STORE, O_WORKERS, O_MAXCONC, O_MAXCONN,
         O_MAXBODY, O_MAXTIMEOUT, O_CACHE, O_TOKEN, O_SHUTDOWN, O_PRIVATE, O_COUNT };
  static const struct option opts[] = {
      {"listen", required_argument, 0, O_LISTEN},
      {"data", required_argument, 0, O_DATA},
      {"kv", required_argument, 0, O_KV},
      {"store", required_argument, 0, O_STORE},
      {"workers", required_argument, 0, O_WORKERS},
      {"max-concurrency", required_argument, 0, O_MAXCONC},
      {"max-connections", required_argument, 0, O_MAXCONN},
      {"max-body", required_argument, 0, O_MAXBODY},
      {"max-timeout-ms", required_argument, 0, O_MAXTIMEOUT},
      {"cache-entries", required_argument, 0, O_CACHE},
      {"token-file", required_argument, 0, O_TOKEN},
      {"shutdown-timeout", required_argument, 0, O_SHUTDOWN},
      {"allow-private-network", no_argument, 0, O_PRIVATE},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  /* Index by option code - O_LISTEN: its environment variable. */
  static const char *const env[O_COUNT - O_LISTEN] = {
      "MW_SERVE_LISTEN", "MW_SERVE_DATA", "MW_SERVE_KV", "MW_SERVE_STORE",
      "MW_SERVE_WORKERS", "MW_SERVE_MAX_CONCURRENCY", "MW_SERVE_MAX_CONNECTIONS",
      "MW_SERVE_MAX_BODY", "MW_SERVE_MAX_TIMEOUT_MS", "MW_SERVE_CACHE_ENTRIES",
      "MW_SERVE_TOKEN_FILE", "MW_SERVE_SHUTDOWN_TIMEOUT", NULL};
  const char *val[O_COUNT - O_LISTEN] = {0};
  for (int i = 0; i < O_COUNT - O_LISTEN; i++) {
    const char *e = env[i] ? getenv(env[i]) : NULL;
    if (e && *e) val[i] = e;
  }
  bool private_net = false;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (o == 'h') {
      fputs(help, stdout);
      return MW_EXIT_OK;
    }
    if (o == O_PRIVATE) {
      private_net = true;
    } else if (o >= O_LISTEN && o < O_COUNT) {
      val[o - O_LISTEN] = optarg;
    } else {
      fputs(help, stderr);
      return MW_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "marie-wasm serve: unexpected argument '%s'\n\n%s", argv[optind], help);
    return MW_EXIT_USAGE;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  srv_config_t cfg = {
      .listen = val[O_LISTEN - O_LISTEN] ? val[O_LISTEN - O_LISTEN] : "127.0.0.1:8080",
      .data_dir = val[O_DATA - O_LISTEN] ? val[O_DATA - O_LISTEN] : "marie-data",
      .kv_url = val[O_KV - O_LISTEN],
      .store = val[O_STORE - O_LISTEN],
      .token_file = val[O_TOKEN - O_LISTEN],
      .workers = cpus > 0 ? (unsigned)cpus : 1,
      .max_connections = 1024,
      .max_body = (size_t)32 << 20,
      .max_timeout_ms = 30000,
      .cache_entries = 64,
      .shutdown_timeout_s = 60,
      .allow_private_network = private_net,
  };
  unsigned long long n;
  struct { int opt; unsigned long long lo, hi; } nums[] = {
      {O_WORKERS, 1, 1024}, {O_MAXCONC, 1, 1u << 20}, {O_MAXCONN, 1, 1u << 20},
      {O_MAXBODY, 1024, 1ull << 32}, {O_MAXTIMEOUT, 1, 3600000}, {O_CACHE, 1, 1u << 20},
      {O_SHUTDOWN, 0, 86400}};
  bool conc_given = false;
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    const char *text = val[nums[i].opt - O_LISTEN];
    if (!text) continue;
    if (!number(opts[nums[i].opt - O_LISTEN].name, text, nums[i].lo, nums[i].hi, &n))
      return MW_EXIT_USAGE;
    switch (nums[i].opt) {
      case O_WORKERS: cfg.workers = (unsigned)n; break;
      case O_MAXCONC: cfg.max_concurrency = (unsigned)n, conc_given = true; break;
      case O_MAXCONN: cfg.max_connections = (unsigned)n; break;
      case O_MAXBODY: cfg.max_body = (size_t)n; break;
      case O_MAXTIMEOUT: cfg.max_timeout_ms = n; break;
      case O_CACHE: cfg.cache_entries = (unsigned)n; break;
      case O_SHUTDOWN: cfg.shutdown_timeout_s = (unsigned)n; break;
    }
  }
  if (!conc_given) cfg.max_concurrency = cfg.workers * 16;
  char msg[512];
  if (!srv_listen_check(cfg.listen, msg, sizeof msg)) {
    fprintf(stderr, "marie-wasm serve: %s\n", msg);
    return MW_EXIT_USAGE;
  }
  if (private_net)
    fprintf(stderr, "marie-wasm: warning: --allow-private-network lets nodes reach "
                    "loopback and private addresses; use it for local testing only\n");
  return srv_run(&cfg);
}
