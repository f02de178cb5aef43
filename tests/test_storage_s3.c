/*
 * test_storage_s3.c - the S3 store backend against a real S3-compatible
 * server: moto in server mode on 127.0.0.1, started once for the group with
 * IAM authentication switched on after set-up, so signatures, credentials,
 * session tokens and policies are really checked. Failures moto cannot
 * show (a connection dropped mid-upload, silence, 5xx) are in
 * test_storage_s3_faults.c.
 *
 * moto_server is taken from $MW_TEST_MOTO_SERVER, else from the venv that
 * scripts/install-test-tools.sh makes ($MW_S3_VENV, by default
 * $HOME/.cache/marie-wasm/s3-venv).
 * When neither exists the program exits 77, which CTest reports as skipped.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
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

#include "test_util.h"
/* After test_util.h (cmocka): the bounded buffer for replies. */
#include "util/buf.h"

#define MIB ((size_t)1 << 20)
#define REGION "us-east-1"

static char moto_bin[4096];
static char tmpdir[64];
static pid_t moto_pid = -1;
static char endpoint[64]; /* "http://127.0.0.1:<port>" of moto */
/* IAM user: everything on S3 except writes to mw-readonly. */
static char *user_key, *user_secret;
/* Temporary credentials of an assumed role (with a session token). */
static char *role_key, *role_secret, *role_token;

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) continue;
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

/* The text between <tag> and </tag> (malloc'd), or NULL. */
static char *xml_get(const char *xml, const char *tag) {
  char open[64], close[64];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = xml ? strstr(xml, open) : NULL;
  const char *b = a ? strstr(a, close) : NULL;
  return b ? strndup(a + strlen(open), (size_t)(b - a - strlen(open))) : NULL;
}

/* ---- direct requests (set-up, and looking behind the store's back) ------- */

typedef struct reply {
  long status;
  char *body;
  char *headers; /* of the last response, "Name: value\r\n" each */
} reply_t;

static void reply_free(reply_t *r) {
  free(r->body);
  free(r->headers);
}

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  mw_buf_t *b = ud;
  (void)size;
  return mw__buf_append(b, p, n) ? n : 0; /* the buffer has a maximum */
}

static size_t collect_header(char *p, size_t size, size_t n, void *ud) {
  mw_buf_t *b = ud;
  if (n >= 5 && !memcmp(p, "HTTP/", 5)) b->len = 0; /* a new response */
  return collect(p, size, n, ud);
}

/* method to endpoint + path; signed for service (NULL: unsigned) with
 * key:secret (the set-up phase accepts any), body sent as is. */
static reply_t request(const char *method, const char *path,
                       const char *service, const char *key, const char *secret,
                       const char *body, size_t len) {
  reply_t r = {0, NULL, NULL};
  CURL *h = curl_easy_init();
  assert_non_null(h);
  char url[1024], sigv4[64], sha[65], sha_header[96];
  snprintf(url, sizeof url, "%s%s", endpoint, path);
  mw_sha256_hex((const uint8_t *)(body ? body : ""), body ? len : 0, sha);
  snprintf(sha_header, sizeof sha_header, "x-amz-content-sha256: %s", sha);
  /* Signed requests carry the payload hash; moto's admin API wants its
   * body as plain text. */
  struct curl_slist *headers = curl_slist_append(
      NULL, service ? sha_header : "Content-Type: text/plain");
  if (service && !strcmp(service, "s3"))
    headers =
        curl_slist_append(headers, "Content-Type: application/octet-stream");
  mw_buf_t b, hb;
  mw__buf_init(&b, 16 * MIB);
  mw__buf_init(&hb, 1u << 20);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  }
  if (service) {
    snprintf(sigv4, sizeof sigv4, "aws:amz:" REGION ":%s", service);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, secret);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = mw__buf_take(&b, NULL);
  r.headers = mw__buf_take(&hb, NULL);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return r;
}

/* A form-encoded IAM or STS action during set-up; returns the body. */
static char *action(const char *service, const char *params) {
  reply_t r =
      request("POST", "/", service, "setup", "setup", params, strlen(params));
  if (r.status != 200) {
    fprintf(stderr, "test_storage_s3: %s %s: %ld %s\n", service, params,
            r.status, r.body);
    reply_free(&r);
    return NULL;
  }
  free(r.headers);
  return r.body;
}

/* "Name=<urlencoded value>" appended to a form. */
static void form_add(char *form, size_t size, const char *name,
                     const char *value) {
  char *v = curl_easy_escape(NULL, value, 0);
  size_t n = strlen(form);
  snprintf(form + n, size - n, "&%s=%s", name, v);
  curl_free(v);
}

/* ---- moto ---------------------------------------------------------------- */

static bool find_moto(void) {
  const char *e = getenv("MW_TEST_MOTO_SERVER");
  const char *venv = getenv("MW_S3_VENV");
  const char *home = getenv("HOME");
  if (e && *e)
    snprintf(moto_bin, sizeof moto_bin, "%s", e);
  else if (venv && *venv)
    snprintf(moto_bin, sizeof moto_bin, "%s/bin/moto_server", venv);
  else if (home)
    snprintf(moto_bin, sizeof moto_bin,
             "%s/.cache/marie-wasm/s3-venv/bin/moto_server", home);
  return access(moto_bin, X_OK) == 0;
}

static bool moto_answers(void) {
  reply_t r = request("GET", "/moto-api/reset-auth", NULL, NULL, NULL, NULL, 0);
  reply_free(&r);
  return r.status != 0;
}

/* Starts moto_server on a free port (argument array, no shell) and waits
 * until it answers. Its output goes to tmpdir/moto.log. */
static bool moto_start(void) {
  for (int tries = 0; tries < 3; tries++) {
    int port = free_port();
    char port_s[16], log[128];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(log, sizeof log, "%s/moto.log", tmpdir);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    char *const argv[] = {moto_bin, "-H", "127.0.0.1", "-p", port_s, NULL};
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
      execv(moto_bin, argv);
      _exit(127);
    }
    moto_pid = pid;
    for (int i = 0; i < 600; i++) { /* moto imports for a few seconds */
      if (moto_answers()) return true;
      if (waitpid(pid, NULL, WNOHANG) == pid) break; /* port taken? */
      sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    moto_pid = -1;
  }
  return false;
}

/* The values of tags in the reply to a set-up action (each malloc'd);
 * false, with a message, when the action or a tag is missing. */
static bool action_get(const char *service, const char *form,
                       const char *const *tags, char **const *outs) {
  char *body = action(service, form);
  bool ok = body != NULL;
  for (size_t i = 0; ok && tags[i]; i++)
    if (!(*outs[i] = xml_get(body, tags[i]))) {
      fprintf(stderr, "test_storage_s3: no <%s> in: %s\n", tags[i], body);
      ok = false;
    }
  free(body);
  return ok;
}

/* An IAM user (access key; every S3 action but writes to mw-readonly), a
 * role assumed for temporary credentials, the buckets; then authentication
 * on for every later request. */
static bool moto_provision(void) {
  static const char user_policy[] =
      "{\"Version\":\"2012-10-17\",\"Statement\":["
      "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
      "{\"Effect\":\"Deny\",\"Action\":\"s3:PutObject\","
      "\"Resource\":\"arn:aws:s3:::mw-readonly/*\"}]}";
  static const char trust[] =
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
      "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}";
  static const char role_policy[] =
      "{\"Version\":\"2012-10-17\",\"Statement\":["
      "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
  char user_form[1024] =
      "Action=PutUserPolicy&UserName=mw&PolicyName=p"
      "&Version=2010-05-08";
  char role_form[1024] =
      "Action=CreateRole&RoleName=mw-role"
      "&Version=2010-05-08";
  char policy_form[1024] =
      "Action=PutRolePolicy&RoleName=mw-role"
      "&PolicyName=p&Version=2010-05-08";
  form_add(user_form, sizeof user_form, "PolicyDocument", user_policy);
  form_add(role_form, sizeof role_form, "AssumeRolePolicyDocument", trust);
  form_add(policy_form, sizeof policy_form, "PolicyDocument", role_policy);
  const char *no_tags[] = {NULL};
  const char *key_tags[] = {"AccessKeyId", "SecretAccessKey", NULL};
  const char *role_tags[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                             NULL};
  char **user_outs[] = {&user_key, &user_secret};
  char **role_outs[] = {&role_key, &role_secret, &role_token};
  bool ok =
      action_get("iam", "Action=CreateUser&UserName=mw&Version=2010-05-08",
                 no_tags, NULL) &&
      action_get("iam", "Action=CreateAccessKey&UserName=mw&Version=2010-05-08",
                 key_tags, user_outs) &&
      action_get("iam", user_form, no_tags, NULL) &&
      action_get("iam", role_form, no_tags, NULL) &&
      action_get("iam", policy_form, no_tags, NULL) &&
      action_get("sts",
                 "Action=AssumeRole&RoleSessionName=mw&Version=2011-06-15"
                 "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmw-role",
                 role_tags, role_outs);
  const char *setup[][2] = {{"PUT", "/mw-test"},
                            {"PUT", "/mw-readonly"},
                            /* from here on moto checks signatures and
                             * policies */
                            {"POST", "/moto-api/reset-auth"}};
  for (size_t i = 0; ok && i < 3; i++) {
    bool admin = i == 2;
    reply_t r = request(setup[i][0], setup[i][1], admin ? NULL : "s3", "setup",
                        "setup", admin ? "0" : NULL, admin ? 1 : 0);
    ok = r.status == 200;
    if (!ok)
      fprintf(stderr, "test_storage_s3: %s %s: %ld %s\n", setup[i][0],
              setup[i][1], r.status, r.body);
    reply_free(&r);
  }
  return ok;
}

/* The end of moto's log on stderr: the log itself goes with tmpdir. */
static void print_moto_log(void) {
  char path[128], buf[4096];
  snprintf(path, sizeof path, "%s/moto.log", tmpdir);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  if (fseek(f, -(long)sizeof buf, SEEK_END) != 0) rewind(f);
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  fprintf(stderr, "---- end of moto's log ----\n%.*s\n", (int)n, buf);
}

static int group_setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mw-s3-XXXXXX");
  if (!mkdtemp(tmpdir) || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  unsetenv("INITIAL_NO_AUTH_ACTION_COUNT"); /* set-up runs unauthenticated */
  if (!moto_start() || !moto_provision()) {
    fprintf(stderr, "test_storage_s3: could not start and set up %s\n",
            moto_bin);
    print_moto_log();
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (moto_pid > 0) {
    kill(moto_pid, SIGTERM);
    while (waitpid(moto_pid, NULL, 0) < 0 && errno == EINTR) continue;
  }
  char log[128];
  snprintf(log, sizeof log, "%s/moto.log", tmpdir);
  unlink(log);
  rmdir(tmpdir);
  free(user_key);
  free(user_secret);
  free(role_key);
  free(role_secret);
  free(role_token);
  curl_global_cleanup();
  return 0;
}

/* ---- opening stores ------------------------------------------------------ */

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

/* A store on moto as the IAM user. */
static mw_store_t *moto_store(const char *location) {
  mw_store_t *s = NULL;
  TU_OK(open_with(location, user_key, user_secret, NULL, endpoint, NULL, &s));
  return s;
}

/* Puts data under key, reads it back and compares. */
static void round_trip(mw_store_t *s, const char *key, const uint8_t *data,
                       size_t len) {
  char sha[65];
  mw_sha256_hex(data, len, sha);
  TU_OK(mw_store_put(s, key, data, len));
  uint8_t *out = NULL;
  size_t out_len = 0;
  TU_OK(mw_store_get(s, key, sha, &out, &out_len));
  assert_int_equal(out_len, len);
  if (len) assert_memory_equal(out, data, len);
  free(out);
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
  /* No credential ever appears in a message. */
  if (user_secret) assert_null(strstr(msg, user_secret));
  if (role_secret) assert_null(strstr(msg, role_secret));
  if (role_token) assert_null(strstr(msg, role_token));
  mw_error_free(err);
}

/* ---- against moto -------------------------------------------------------- */

static void objects_round_trip_byte_exact(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-test");
  round_trip(s, "wasm/nodes/n-1/small.wasm", (const uint8_t *)"component", 9);
  uint8_t all[256];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
  round_trip(s, "wasm/nodes/n-1/binary.wasm", all, sizeof all);
  round_trip(s, "wasm/nodes/n-1/empty.wasm", NULL, 0);
  uint8_t *big = noise(5 * MIB + 7, 42);
  round_trip(s, "wasm/nodes/n-1/big.cwasm", big, 5 * MIB + 7);
  /* The upload was signed with its real payload hash (moto keeps the
   * header with the object). */
  char sha[65], want[96];
  mw_sha256_hex(big, 5 * MIB + 7, sha);
  snprintf(want, sizeof want, "x-amz-content-sha256: %s", sha);
  free(big);
  reply_t r = request("GET", "/mw-test/wasm/nodes/n-1/big.cwasm", "s3",
                      user_key, user_secret, NULL, 0);
  assert_int_equal(r.status, 200);
  if (!strcasestr(r.headers, want))
    fail_msg("'%s' not in:\n%s", want, r.headers);
  reply_free(&r);
  /* Overwriting replaces the object. */
  round_trip(s, "wasm/nodes/n-1/small.wasm", (const uint8_t *)"v2", 2);
  mw_store_free(s);
}

static void prefix_holds_the_objects_and_is_url_encoded(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-test/team one/a+b=c%/");
  round_trip(s, "wasm/nodes/n-2/x.wasm", (const uint8_t *)"prefixed", 8);
  mw_store_free(s);
  /* The object is exactly "<prefix>/<key>" in the bucket, nowhere else. */
  reply_t r =
      request("GET", "/mw-test/team%20one/a%2Bb%3Dc%25/wasm/nodes/n-2/x.wasm",
              "s3", user_key, user_secret, NULL, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "prefixed");
  reply_free(&r);
  r = request("GET", "/mw-test/wasm/nodes/n-2/x.wasm", "s3", user_key,
              user_secret, NULL, 0);
  assert_int_equal(r.status, 404);
  reply_free(&r);
}

static void corrupted_object_is_refused(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-test");
  const char *data = "the real component";
  char sha[65];
  mw_sha256_hex((const uint8_t *)data, strlen(data), sha);
  TU_OK(mw_store_put(s, "wasm/nodes/n-3/c.wasm", (const uint8_t *)data,
                     strlen(data)));
  /* Someone swaps the object behind the store's back. */
  reply_t r = request("PUT", "/mw-test/wasm/nodes/n-3/c.wasm", "s3", user_key,
                      user_secret, "evil", 4);
  assert_int_equal(r.status, 200);
  reply_free(&r);
  uint8_t *out = (uint8_t *)"untouched";
  size_t len = 99;
  char evil[65];
  mw_sha256_hex((const uint8_t *)"evil", 4, evil);
  expect_error(mw_store_get(s, "wasm/nodes/n-3/c.wasm", sha, &out, &len),
               MW_ERR_ARTIFACT, "corrupt", sha, evil, NULL);
  assert_null(out);
  assert_int_equal(len, 0);
  mw_store_free(s);
}

static void missing_object_says_not_found(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-test/p");
  uint8_t *out = NULL;
  size_t len = 0;
  expect_error(mw_store_get(s, "wasm/nodes/none/x.wasm", NULL, &out, &len),
               MW_ERR_IO, "s3 get s3://mw-test/p/wasm/nodes/none/x.wasm",
               "not found", "404 NoSuchKey", NULL);
  assert_null(out);
  mw_store_free(s);
  /* A missing bucket is a configuration error, not a missing artifact. */
  s = moto_store("s3://mw-no-such-bucket");
  expect_error(mw_store_get(s, "k", NULL, &out, &len), MW_ERR_IO,
               "404 NoSuchBucket", NULL);
  expect_error(mw_store_put(s, "k", (const uint8_t *)"x", 1), MW_ERR_IO,
               "s3 put s3://mw-no-such-bucket/k: 404 NoSuchBucket", NULL);
  mw_store_free(s);
}

static void bucket_refusing_writes_is_a_clear_error(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-readonly");
  double t0 = now_s();
  expect_error(
      mw_store_put(s, "wasm/nodes/x/abc.wasm", (const uint8_t *)"x", 1),
      MW_ERR_IO,
      "s3 put s3://mw-readonly/wasm/nodes/x/abc.wasm: 403 AccessDenied: "
      "Access Denied",
      NULL);
  assert_true(now_s() - t0 < 5); /* a refusal is not retried */
  /* Reads are still allowed: the object is just not there. */
  uint8_t *out = NULL;
  size_t len = 0;
  expect_error(mw_store_get(s, "wasm/nodes/x/abc.wasm", NULL, &out, &len),
               MW_ERR_IO, "not found", NULL);
  mw_store_free(s);
}

static void wrong_credentials_are_refused(void **state) {
  (void)state;
  mw_store_t *s = NULL;
  TU_OK(open_with("s3://mw-test", user_key, "not-the-secret-key", NULL,
                  endpoint, NULL, &s));
  mw_error_t *err = mw_store_put(s, "k", (const uint8_t *)"x", 1);
  assert_null(strstr(mw_error_message(err), "not-the-secret-key"));
  expect_error(err, MW_ERR_IO,
               "s3 put s3://mw-test/k: 403 SignatureDoesNotMatch", NULL);
  mw_store_free(s);
  TU_OK(open_with("s3://mw-test", "AKIAUNKNOWNUNKNOWN00", user_secret, NULL,
                  endpoint, NULL, &s));
  uint8_t *out = NULL;
  size_t len = 0;
  expect_error(mw_store_get(s, "k", NULL, &out, &len), MW_ERR_IO,
               "403 InvalidAccessKeyId", NULL);
  mw_store_free(s);
}

static void session_token_is_sent_and_signed(void **state) {
  (void)state;
  mw_store_t *s = NULL;
  TU_OK(open_with("s3://mw-test/role", role_key, role_secret, role_token,
                  endpoint, NULL, &s));
  round_trip(s, "wasm/nodes/r/x.wasm", (const uint8_t *)"as the role", 11);
  mw_store_free(s);
  /* The same key without its token is not a valid identity. */
  TU_OK(open_with("s3://mw-test/role", role_key, role_secret, NULL, endpoint,
                  NULL, &s));
  expect_error(mw_store_put(s, "k", (const uint8_t *)"x", 1), MW_ERR_IO,
               "403 InvalidAccessKeyId", NULL);
  mw_store_free(s);
}

typedef struct worker {
  mw_store_t *store;
  int id;
  int failures;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < 6; i++) {
    char key[64], sha[65];
    snprintf(key, sizeof key, "wasm/nodes/t%d/%d.wasm", w->id, i);
    size_t len = 1000 + (size_t)(w->id * 100 + i);
    uint8_t *data = noise(len, (uint32_t)(w->id * 31 + i));
    mw_sha256_hex(data, len, sha);
    uint8_t *out = NULL;
    size_t out_len = 0;
    mw_error_t *err = mw_store_put(w->store, key, data, len);
    if (!err) err = mw_store_get(w->store, key, sha, &out, &out_len);
    if (err || out_len != len) w->failures++;
    if (err) fprintf(stderr, "worker %d: %s\n", w->id, mw_error_message(err));
    mw_error_free(err);
    free(out);
    free(data);
  }
  return NULL;
}

static void one_store_serves_many_threads(void **state) {
  (void)state;
  mw_store_t *s = moto_store("s3://mw-test/threads");
  pthread_t th[4];
  worker_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker_t){s, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  mw_store_free(s);
}

int main(void) {
  if (!find_moto()) {
    fprintf(stderr,
            "test_storage_s3: SKIPPED: moto_server not found at %s (run "
            "scripts/install-test-tools.sh, or set MW_TEST_MOTO_SERVER)\n",
            moto_bin);
    return getenv("MW_TEST_MOTO_SERVER") ? 1 : 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(objects_round_trip_byte_exact),
      cmocka_unit_test(prefix_holds_the_objects_and_is_url_encoded),
      cmocka_unit_test(corrupted_object_is_refused),
      cmocka_unit_test(missing_object_says_not_found),
      cmocka_unit_test(bucket_refusing_writes_is_a_clear_error),
      cmocka_unit_test(wrong_credentials_are_refused),
      cmocka_unit_test(session_token_is_sent_and_signed),
      cmocka_unit_test(one_store_serves_many_threads),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
