/*
 * bench_http.c - the cost of an HTTP fetch through marie-wasm against a bare
 * libcurl call, side by side, on loopback.
 *
 *   bare     one reused curl easy handle, GET, body into memory
 *   backend  the built-in backend's vtable (resolve, address checks, pin,
 *            redirect handling, caps), allow_private_network on
 *   node     the `host` test component doing 20 fetches per execution:
 *            permissions, URL checks and the guest round trip included
 *
 * usage: bench_http COMPONENTS_DIR [seconds-per-round]
 * The server is libmicrohttpd in this process (a thread pool of 2) answering
 * 64 bytes with keep-alive, so every side measures client cost plus the
 * same server.
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marie_wasm.h"
#include "runtime/runtime_int.h" /* struct mw_host: the http vtable */

#define ROUNDS 5
#define FETCHES_PER_EXEC 20

static char body[65] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **ptr) {
  (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
  (void)ptr;
  struct MHD_Response *r =
      MHD_create_response_from_buffer(64, body, MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

static size_t sink(char *p, size_t size, size_t n, void *ud) {
  (void)p, (void)ud;
  return size * n;
}

static double bare_rate(const char *url, double secs) {
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  long n = 0;
  double end = now_s() + secs;
  while (now_s() < end) {
    if (curl_easy_perform(h) != CURLE_OK) exit(2);
    n++;
  }
  curl_easy_cleanup(h);
  return (double)n / secs;
}

static bool allow_all(void *ctx, const char *url) {
  (void)ctx, (void)url;
  return true;
}

static double backend_rate(const mw_host_t *host, const char *url, double secs) {
  mw_http_request_t req = {.method = "GET", .url = url, .timeout_ms = 10000,
                           .max_response_bytes = 1 << 20, .url_allowed = allow_all};
  long n = 0;
  double end = now_s() + secs;
  while (now_s() < end) {
    mw_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    mw_error_t *err = host->http.fetch(host->http_ctx, &req, &resp);
    if (err || resp.status != 200) exit(3);
    for (size_t i = 0; i < resp.header_count; i++) {
      free(resp.headers[i].name);
      free(resp.headers[i].value);
    }
    free(resp.headers);
    free(resp.body);
    n++;
  }
  return (double)n / secs;
}

static double node_rate(mw_engine_t *e, mw_component_t *c, mw_request_t *req,
                        double secs) {
  long n = 0;
  double end = now_s() + secs;
  while (now_s() < end) {
    mw_result_t *r;
    if (mw_execute(e, c, req, &r) || mw_result_outcome(r) != MW_OUTCOME_OK) exit(4);
    size_t len;
    if (!strstr(mw_result_item_json(r, FETCHES_PER_EXEC - 1, &len), "\"status\":200"))
      exit(5);
    mw_result_free(r);
    n += FETCHES_PER_EXEC;
  }
  return (double)n / secs;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_http COMPONENTS_DIR [seconds-per-round]\n");
    return 64;
  }
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, answer, NULL,
      MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
  if (!d) return 1;
  unsigned port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/ping", port);

  mw_host_t *host = mw_host_new();
  mw_http_options_t opts;
  mw_http_options_init(&opts);
  opts.allow_private_network = true;
  if (mw_host_use_curl_http(host, &opts)) return 1;

  mw_engine_t *e;
  mw_component_t *c;
  mw_request_t *req;
  mw_permissions_t *p;
  char path[4096];
  snprintf(path, sizeof path, "%s/host.wasm", argv[1]);
  const char *perms = "{\"allow_http\": true, \"http_allowed_hosts\": [\"127.0.0.1\"],"
                      " \"max_http_requests\": 1000}";
  if (mw_engine_new(NULL, &e) || mw_component_load_file(e, path, &c) ||
      mw_request_new(&req) || mw_permissions_from_json(perms, strlen(perms), &p))
    return 1;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "http GET %s", url);
  for (int i = 0; i < FETCHES_PER_EXEC; i++)
    if (mw_request_add_item(req, cmd, strlen(cmd), NULL, 0)) return 1;
  mw_request_set_permissions(req, p);
  mw_request_set_host(req, host);

  double rb[ROUNDS], rk[ROUNDS], rn[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) {
    rb[i] = bare_rate(url, secs);
    rk[i] = backend_rate(host, url, secs);
    rn[i] = node_rate(e, c, req, secs);
  }
  qsort(rb, ROUNDS, sizeof *rb, cmp);
  qsort(rk, ROUNDS, sizeof *rk, cmp);
  qsort(rn, ROUNDS, sizeof *rn, cmp);
  double b = rb[ROUNDS / 2], k = rk[ROUNDS / 2], n = rn[ROUNDS / 2];
  printf("HTTP GET on loopback (64-byte body, keep-alive), median of %d rounds of %.1f s\n",
         ROUNDS, secs);
  printf("  bare libcurl        %8.0f req/s  %6.1f us/req\n", b, 1e6 / b);
  printf("  marie-wasm backend  %8.0f req/s  %6.1f us/req  cost ratio %.2f\n", k, 1e6 / k, b / k);
  printf("  through a node      %8.0f req/s  %6.1f us/req  cost ratio %.2f\n", n, 1e6 / n, b / n);

  mw_request_free(req);
  mw_permissions_free(p);
  mw_component_free(c);
  mw_engine_free(e);
  mw_host_free(host);
  MHD_stop_daemon(d);
  return 0;
}
