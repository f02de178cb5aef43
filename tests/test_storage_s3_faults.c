/*
 * test_storage_s3_faults.c - the S3 store backend when the server
 * misbehaves: a connection reset mid-upload, silence, 5xx answers, an
 * object over the size cap, nobody listening. The server is a tiny TCP
 * server in a thread of this process on 127.0.0.1, answering each
 * connection as a test scripts it (test_storage_s3.c covers the real S3
 * protocol against moto). Every failure must end in a clear error, within
 * the deadline, after the retries the backend promises.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define MIB ((size_t)1 << 20)
#define SECRET "tiny-s3cr3t"
#define REGION "us-east-1"

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* Deterministic pseudo-random bytes (xorshift). */
static uint8_t *noise(size_t n, uint32_t seed) {
  uint8_t *p = malloc(n ? n : 1);
  assert_non_null(p);
  uint32_t x = seed | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
  return p;
}

/* Sets the environment the store reads (NULL unsets) and opens location. */
static mw_error_t *open_with(const char *location, const char *key,
                             const char *secret, const char *token,
                             const char *ep, const char *timeout_ms,
                             mw_store_t **out) {
  const char *names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                         "AWS_SESSION_TOKEN", "MW_S3_ENDPOINT",
                         "MW_S3_TIMEOUT_MS"};
  const char *values[] = {key, secret, token, ep, timeout_ms};
  for (size_t i = 0; i < 5; i++) {
    if (values[i])
      setenv(names[i], values[i], 1);
    else
      unsetenv(names[i]);
  }
  setenv("AWS_REGION", REGION, 1);
  return mw_store_open(location, out);
}

/* Asserts err has status and its message contains each of the strings
 * (NULL-terminated), then frees it. */
static void expect_error(mw_error_t *err, mw_status_t status, ...) {
  assert_non_null(err);
  const char *msg = mw_error_message(err);
  if (mw_error_status(err) != status)
    fail_msg("status %s, expected %s: %s", mw_status_name(mw_error_status(err)),
             mw_status_name(status), msg);
  va_list ap;
  va_start(ap, status);
  for (const char *want; (want = va_arg(ap, const char *));)
    if (!strstr(msg, want)) fail_msg("'%s' not in: %s", want, msg);
  va_end(ap);
  assert_null(strstr(msg, SECRET)); /* never a credential in a message */
  mw_error_free(err);
}

/* ---- a misbehaving server ------------------------------------------------ */

typedef enum {
  TINY_RESET_MID_BODY, /* reads part of the body, then resets */
  TINY_SILENT,         /* reads, never answers */
  TINY_REPLY,          /* answers replies[connection] (the last repeats) */
} tiny_mode_t;

typedef struct tiny {
  int fd, port;
  tiny_mode_t mode;
  const char *const *replies;
  size_t n_replies;
  atomic_int connections;
  atomic_bool stop;
  pthread_t thread;
} tiny_t;

/* Reads from c until the end of the request head, at most 16 KiB. */
static void read_head(int c, char *head, size_t size) {
  size_t len = 0;
  head[0] = '\0';
  while (len + 1 < size && !strstr(head, "\r\n\r\n")) {
    struct pollfd p = {c, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return;
    ssize_t n = read(c, head + len, size - 1 - len);
    if (n <= 0) return;
    len += (size_t)n;
    head[len] = '\0';
  }
}

static void tiny_serve(tiny_t *t, int c, int index) {
  char head[16384], buf[65536];
  read_head(c, head, sizeof head);
  if (t->mode == TINY_REPLY) {
    size_t i = (size_t)index < t->n_replies ? (size_t)index : t->n_replies - 1;
    ssize_t ignored = write(c, t->replies[i], strlen(t->replies[i]));
    (void)ignored;
    return;
  }
  if (strcasestr(head, "Expect: 100-continue")) {
    const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ssize_t ignored = write(c, cont, sizeof cont - 1);
    (void)ignored;
  }
  size_t got = 0;
  while (!atomic_load(&t->stop)) {
    if (t->mode == TINY_RESET_MID_BODY && got >= 64 * 1024) {
      /* Linger 0: close() sends a reset, as a crashing server would. */
      struct linger l = {1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      return;
    }
    struct pollfd p = {c, POLLIN, 0};
    if (poll(&p, 1, 100) == 0) continue;
    ssize_t n = read(c, buf, sizeof buf);
    if (n <= 0) return;
    got += (size_t)n;
  }
}

static void *tiny_main(void *arg) {
  tiny_t *t = arg;
  while (!atomic_load(&t->stop)) {
    struct pollfd p = {t->fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept(t->fd, NULL, NULL);
    if (c < 0) continue;
    int index = atomic_fetch_add(&t->connections, 1);
    tiny_serve(t, c, index);
    close(c);
  }
  return NULL;
}

static void tiny_start(tiny_t *t, tiny_mode_t mode, const char *const *replies,
                       size_t n_replies) {
  memset(t, 0, sizeof *t);
  t->mode = mode;
  t->replies = replies;
  t->n_replies = n_replies;
  t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_true(t->fd >= 0);
  assert_int_equal(bind(t->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(t->fd, 8), 0);
  assert_int_equal(getsockname(t->fd, (struct sockaddr *)&a, &len), 0);
  t->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&t->thread, NULL, tiny_main, t), 0);
}

static void tiny_stop(tiny_t *t) {
  atomic_store(&t->stop, true);
  pthread_join(t->thread, NULL);
  close(t->fd);
}

/* A store whose endpoint is the tiny server. */
static mw_store_t *tiny_store(const tiny_t *t, const char *timeout_ms) {
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", t->port);
  mw_store_t *s = NULL;
  TU_OK(open_with("s3://mw-test", "AKIAEXAMPLE", SECRET, NULL, ep, timeout_ms,
                  &s));
  return s;
}

static void server_dying_mid_upload_is_retried_then_reported(void **state) {
  (void)state;
  tiny_t t;
  tiny_start(&t, TINY_RESET_MID_BODY, NULL, 0);
  mw_store_t *s = tiny_store(&t, NULL);
  uint8_t *data = noise(2 * MIB, 7);
  double t0 = now_s();
  expect_error(mw_store_put(s, "wasm/nodes/n/big.wasm", data, 2 * MIB),
               MW_ERR_IO, "s3 put s3://mw-test/wasm/nodes/n/big.wasm: ",
               "(after 3 attempts)", NULL);
  assert_true(now_s() - t0 < 20);
  assert_int_equal(atomic_load(&t.connections), 3);
  free(data);
  mw_store_free(s);
  tiny_stop(&t);
}

static void silent_server_times_out(void **state) {
  (void)state;
  tiny_t t;
  tiny_start(&t, TINY_SILENT, NULL, 0);
  mw_store_t *s = tiny_store(&t, "1500");
  double t0 = now_s();
  expect_error(mw_store_put(s, "k", (const uint8_t *)"data", 4), MW_ERR_IO,
               "s3 put s3://mw-test/k: timed out", NULL);
  uint8_t *out = NULL;
  size_t len = 0;
  expect_error(mw_store_get(s, "k", NULL, &out, &len), MW_ERR_IO,
               "s3 get s3://mw-test/k: timed out", NULL);
  double took = now_s() - t0;
  if (took > 8) fail_msg("two 1.5 s deadlines took %.1f s", took);
  mw_store_free(s);
  tiny_stop(&t);
}

#define XML_ERROR(status, code, msg)      \
  "HTTP/1.1 " status                      \
  "\r\nContent-Type: application/xml\r\n" \
  "Connection: close\r\nContent-Length: " \
  "%zu\r\n\r\n<Error><Code>" code "</Code><Message>" msg "</Message></Error>"

/* Fills in Content-Length of a reply built with XML_ERROR. */
static char *reply_with_length(const char *fmt) {
  const char *body = strstr(fmt, "<Error>");
  size_t n = strlen(fmt) + 16;
  char *r = malloc(n);
  assert_non_null(r);
  snprintf(r, n, fmt, strlen(body));
  return r;
}

static void server_errors_are_retried(void **state) {
  (void)state;
  char *e500 =
      reply_with_length(XML_ERROR("500 Internal Server Error", "InternalError",
                                  "We encountered an internal error."));
  char *e503 = reply_with_length(XML_ERROR("503 Slow Down", "SlowDown",
                                           "Please reduce your request rate."));
  const char *then_ok[] = {
      e500,
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello"};
  tiny_t t;
  tiny_start(&t, TINY_REPLY, then_ok, 2);
  mw_store_t *s = tiny_store(&t, NULL);
  uint8_t *out = NULL;
  size_t len = 0;
  TU_OK(mw_store_get(s, "k", NULL, &out, &len));
  assert_int_equal(len, 5);
  assert_memory_equal(out, "hello", 5);
  free(out);
  assert_int_equal(atomic_load(&t.connections), 2);
  mw_store_free(s);
  tiny_stop(&t);

  const char *always[] = {e503};
  tiny_start(&t, TINY_REPLY, always, 1);
  s = tiny_store(&t, NULL);
  expect_error(mw_store_put(s, "k", (const uint8_t *)"x", 1), MW_ERR_IO,
               "s3 put s3://mw-test/k: 503 SlowDown: Please reduce your "
               "request rate. (after 3 attempts)",
               NULL);
  assert_int_equal(atomic_load(&t.connections), 3);
  mw_store_free(s);
  tiny_stop(&t);
  free(e500);
  free(e503);
}

static void oversized_object_is_refused(void **state) {
  (void)state;
  const char *huge[] = {"HTTP/1.1 200 OK\r\nContent-Length: 314572800\r\n\r\n"};
  tiny_t t;
  tiny_start(&t, TINY_REPLY, huge, 1);
  mw_store_t *s = tiny_store(&t, NULL);
  uint8_t *out = NULL;
  size_t len = 0;
  expect_error(mw_store_get(s, "k", NULL, &out, &len), MW_ERR_IO,
               "larger than 268435456 bytes", NULL);
  assert_int_equal(atomic_load(&t.connections), 1); /* not retried */
  mw_store_free(s);
  tiny_stop(&t);
}

static void unreachable_server_is_reported(void **state) {
  (void)state;
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", free_port());
  mw_store_t *s = NULL;
  TU_OK(open_with("s3://mw-test", "AKIAEXAMPLE", SECRET, NULL, ep, NULL, &s));
  expect_error(mw_store_put(s, "k", (const uint8_t *)"x", 1), MW_ERR_IO,
               "s3 put s3://mw-test/k: ", "(after 3 attempts)", NULL);
  mw_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(server_dying_mid_upload_is_retried_then_reported),
      cmocka_unit_test(silent_server_times_out),
      cmocka_unit_test(server_errors_are_retried),
      cmocka_unit_test(oversized_object_is_refused),
      cmocka_unit_test(unreachable_server_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
