/*
 * s3.c - the S3 store backend: a key is an object in one bucket, under an
 * optional prefix ("s3://bucket/prefix" -> "prefix/<key>").
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4). The payload hash is
 * sent in x-amz-content-sha256, so S3 checks that an upload arrived intact.
 * Configuration comes from the environment when the store is opened (the
 * usual AWS names; storage.h lists them). Without MW_S3_ENDPOINT requests go
 * to the AWS virtual-host endpoint over https; with it, path-style to that
 * endpoint (S3-compatible servers, tests).
 *
 * Every operation has one deadline for all its attempts; connection errors,
 * 5xx and throttling are retried with backoff. Errors name the object and
 * carry S3's status, Code and Message, never a credential. Easy handles sit
 * in a small mutex-guarded pool so connections are reused; a handle is used
 * by one thread at a time, which makes the store thread-safe.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "storage/store_int.h"
#include "util/buf.h"
#include "util/error_int.h"

#define S3_MAX_OBJECT_BYTES ((size_t)256 << 20)
#define S3_MAX_ERROR_BODY ((size_t)64 << 10)
#define S3_MAX_PREFIX 512
#define S3_ATTEMPTS 3
#define S3_BACKOFF_MS 200 /* doubled after each failed attempt */
#define S3_CONNECT_TIMEOUT_MS 10000
#define S3_DEFAULT_TIMEOUT_MS 300000
#define S3_MAX_TIMEOUT_MS (24ull * 3600 * 1000)
#define S3_STALL_SECONDS 30L /* no byte moved for this long: retry */
#define POOL_MAX 8
#define EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3 {
  char *bucket;
  char *prefix;   /* "" or "a/b/", raw (encoded per request) */
  char *base_url; /* the object URL is base_url + encoded prefix + key */
  char *sigv4;    /* "aws:amz:<region>:s3" */
  char *access_key;
  char *secret_key;   /* wiped when the store is freed */
  char *token_header; /* "x-amz-security-token: ...", or NULL; wiped too */
  uint64_t timeout_ms;
  pthread_mutex_t lock; /* guards pool */
  CURL *pool[POOL_MAX];
  size_t n_pool;
} s3_t;

/* One attempt's state, shared with curl's callbacks. */
typedef struct transfer {
  const uint8_t *body;
  size_t body_len, body_off;
  mw_buf_t resp;
  bool resp_too_big;
  char region[64]; /* x-amz-bucket-region of the response, for a hint */
  char errbuf[CURL_ERROR_SIZE];
} transfer_t;

/* What one operation asks for. */
typedef struct op {
  const char *name; /* "put" or "get", for messages */
  const char *key;
  const uint8_t *body; /* put: the object */
  size_t body_len;
  size_t max_resp; /* cap on the response body */
} op_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) continue;
}

/* ---- configuration ------------------------------------------------------- */

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* Header values must not smuggle a second header into the request. */
static bool is_header_safe(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
  return true;
}

/* AWS bucket naming rules: they also keep the name safe in a host name. */
static bool is_bucket_name(const char *b) {
  size_t n = strlen(b);
  if (n < 3 || n > 63) return false;
  for (size_t i = 0; i < n; i++) {
    char c = b[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '-') return false;
    if ((i == 0 || i == n - 1) && !alnum) return false;
    if (c == '.' && (b[i + 1] == '.' || b[i + 1] == '-' || b[i - 1] == '-'))
      return false;
  }
  return true;
}

/* The region goes into host names and the signature scope. */
static bool is_region(const char *r) {
  size_t n = strlen(r);
  if (n == 0 || n > 32) return false;
  for (; *r; r++)
    if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
      return false;
  return true;
}

/* Plain segments only: curl would resolve "." and ".." segments in the URL,
 * so the object would not be the one named. */
static bool is_prefix(const char *p) {
  size_t n = strlen(p);
  if (n > S3_MAX_PREFIX) return false;
  const char *seg = p;
  for (const char *c = p;; c++) {
    if (*c == '/' || *c == '\0') {
      size_t sl = (size_t)(c - seg);
      if (sl == 0 || (sl == 1 && seg[0] == '.') ||
          (sl == 2 && seg[0] == '.' && seg[1] == '.'))
        return false;
      if (!*c) return true;
      seg = c + 1;
    } else if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\') {
      return false;
    }
  }
}

/* The endpoint is a scheme and authority (and perhaps a base path): nothing
 * that would change the URL's meaning once the object path is appended. */
static bool is_endpoint(const char *e) {
  if (strncmp(e, "http://", 7) != 0 && strncmp(e, "https://", 8) != 0)
    return false;
  const char *host = strstr(e, "://") + 3;
  if (!*host || *host == '/') return false;
  for (const char *c = e; *c; c++)
    if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("?#@\\", *c))
      return false;
  return true;
}

/* RFC 3986 unreserved bytes stay, '/' separates, the rest is %XX: S3 signs
 * the path as sent, so it must be encoded exactly once and canonically. */
static bool put_encoded(mw_buf_t *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || strchr("-._~/", c);
    char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
    if (!(keep ? mw__buf_append(b, s, 1) : mw__buf_append(b, esc, 3)))
      return false;
  }
  return true;
}

static char *join(const char *a, const char *b, const char *c) {
  mw_buf_t buf;
  mw__buf_init(&buf, 8192);
  if (!mw__buf_puts(&buf, a) || !mw__buf_puts(&buf, b) ||
      !mw__buf_puts(&buf, c)) {
    mw__buf_free(&buf);
    return NULL;
  }
  return mw__buf_take(&buf, NULL);
}

/* The URL every object URL starts with. */
static char *base_url(const char *endpoint, const char *bucket,
                      const char *region) {
  if (endpoint) { /* path-style: "<endpoint>/<bucket>/" */
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/') n--;
    char *e = strndup(endpoint, n);
    char *url = e ? join(e, "/", bucket) : NULL;
    char *full = url ? join(url, "/", "") : NULL;
    free(e);
    free(url);
    return full;
  }
  char *host_tail = join(".s3.", region, ".amazonaws.com/");
  char *url = NULL;
  /* Dotted names do not match the endpoint's wildcard certificate:
   * they are addressed path-style instead. */
  if (host_tail && strchr(bucket, '.')) {
    char *host = join("https://s3", host_tail + 3, bucket);
    url = host ? join(host, "/", "") : NULL;
    free(host);
  } else if (host_tail) {
    url = join("https://", bucket, host_tail);
  }
  free(host_tail);
  return url;
}

static void wipe_free(char *s) {
  if (!s) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static void s3_free(void *ctx) {
  s3_t *s = ctx;
  if (!s) return;
  for (size_t i = 0; i < s->n_pool; i++) curl_easy_cleanup(s->pool[i]);
  pthread_mutex_destroy(&s->lock);
  free(s->bucket);
  free(s->prefix);
  free(s->base_url);
  free(s->sigv4);
  free(s->access_key);
  wipe_free(s->secret_key);
  wipe_free(s->token_header);
  free(s);
}

/* Reads the environment into s (bucket and prefix are set). */
static mw_error_t *configure_from_env(s3_t *s) {
  const char *key = env("AWS_ACCESS_KEY_ID");
  const char *secret = env("AWS_SECRET_ACCESS_KEY");
  const char *token = env("AWS_SESSION_TOKEN");
  const char *region = env("AWS_REGION");
  const char *endpoint = env("MW_S3_ENDPOINT");
  const char *timeout = env("MW_S3_TIMEOUT_MS");
  if (!region) region = env("AWS_DEFAULT_REGION");
  if (!region) region = "us-east-1";
  if (!key || !secret)
    return mw_error_new(MW_ERR_INPUT,
                        "s3 store: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                        "must be set");
  /* The values themselves stay out of messages: they are credentials. */
  if (!is_header_safe(key) || !is_header_safe(secret) ||
      (token && !is_header_safe(token)))
    return mw_error_new(MW_ERR_INPUT,
                        "s3 store: AWS credentials contain control characters");
  if (!is_region(region))
    return mw_error_new(MW_ERR_INPUT, "s3 store: invalid region '%s'", region);
  if (endpoint && !is_endpoint(endpoint))
    return mw_error_new(MW_ERR_INPUT,
                        "s3 store: MW_S3_ENDPOINT '%s' is not an http(s) URL "
                        "without query, fragment or user info",
                        endpoint);
  s->timeout_ms = S3_DEFAULT_TIMEOUT_MS;
  if (timeout) {
    char *end;
    errno = 0;
    unsigned long long t = strtoull(timeout, &end, 10);
    if (errno || *end || timeout[0] == '-' || t == 0 || t > S3_MAX_TIMEOUT_MS)
      return mw_error_new(MW_ERR_INPUT,
                          "s3 store: MW_S3_TIMEOUT_MS '%s' is not a number of "
                          "milliseconds between 1 and %llu",
                          timeout, S3_MAX_TIMEOUT_MS);
    s->timeout_ms = t;
  }
  if (!(s->access_key = strdup(key)) || !(s->secret_key = strdup(secret)) ||
      !(s->sigv4 = join("aws:amz:", region, ":s3")) ||
      !(s->base_url = base_url(endpoint, s->bucket, region)) ||
      (token && !(s->token_header = join("x-amz-security-token: ", token, ""))))
    return mw__nomem();
  return NULL;
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_read(char *p, size_t size, size_t n, void *ud) {
  transfer_t *t = ud;
  size_t want = size * n, left = t->body_len - t->body_off;
  if (want > left) want = left;
  if (want) memcpy(p, t->body + t->body_off, want);
  t->body_off += want;
  return want;
}

/* curl rewinds the upload when it has to send it again on the same
 * attempt (a 100-continue refused, an auth round). */
static int on_seek(void *ud, curl_off_t off, int origin) {
  transfer_t *t = ud;
  if (origin != SEEK_SET || off < 0 || (uint64_t)off > t->body_len)
    return CURL_SEEKFUNC_CANTSEEK;
  t->body_off = (size_t)off;
  return CURL_SEEKFUNC_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  transfer_t *t = ud;
  (void)size; /* always 1 */
  if (!mw__buf_append(&t->resp, p, n)) {
    t->resp_too_big = n > t->resp.max - t->resp.len; /* else out of memory */
    return 0; /* curl fails the transfer */
  }
  return n;
}

/* Keeps x-amz-bucket-region: S3 names the right region when the request
 * went to the wrong one. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  transfer_t *t = ud;
  static const char name[] = "x-amz-bucket-region:";
  size_t nl = sizeof name - 1;
  (void)size;
  if (n >= 5 && !memcmp(p, "HTTP/", 5)) t->region[0] = '\0'; /* new response */
  if (n > nl && !strncasecmp(p, name, nl)) {
    const char *v = p + nl, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
      end--;
    size_t vl = (size_t)(end - v);
    if (vl < sizeof t->region) {
      memcpy(t->region, v, vl);
      t->region[vl] = '\0';
      if (!is_region(t->region)) t->region[0] = '\0';
    }
  }
  return n;
}

/* ---- one attempt --------------------------------------------------------- */

/* Sets an option unless an earlier one failed: a silently ignored option
 * could be a missing timeout or signature. */
#define SET(opt, val)                                       \
  do {                                                      \
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); \
  } while (0)

static CURLcode configure(CURL *h, const s3_t *s, const op_t *op,
                          const char *url, struct curl_slist *headers,
                          transfer_t *t, uint64_t left_ms) {
  CURLcode rc = CURLE_OK;
  uint64_t connect_ms =
      left_ms < S3_CONNECT_TIMEOUT_MS ? left_ms : S3_CONNECT_TIMEOUT_MS;
  curl_easy_reset(h); /* keeps the handle's live connections */
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L); /* S3 redirects are errors to report */
  SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  SET(CURLOPT_NOSIGNAL, 1L); /* stores are used from many threads */
  SET(CURLOPT_AWS_SIGV4, s->sigv4);
  SET(CURLOPT_USERNAME, s->access_key);
  SET(CURLOPT_PASSWORD, s->secret_key);
  SET(CURLOPT_HTTPHEADER, headers);
  SET(CURLOPT_USERAGENT, "marie-wasm");
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, t);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, t);
  /* A Content-Length over the cap fails before any body is read. */
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)op->max_resp);
  SET(CURLOPT_TIMEOUT_MS, (long)(left_ms < LONG_MAX ? left_ms : LONG_MAX));
  SET(CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
  SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
  SET(CURLOPT_LOW_SPEED_TIME, S3_STALL_SECONDS);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  if (op->body) {
    SET(CURLOPT_UPLOAD, 1L); /* PUT */
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)op->body_len);
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_READDATA, t);
    SET(CURLOPT_SEEKFUNCTION, on_seek);
    SET(CURLOPT_SEEKDATA, t);
  } else {
    SET(CURLOPT_HTTPGET, 1L);
  }
  return rc;
}

/* Whether a failed attempt may succeed when repeated. */
static bool curl_retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

static bool status_retryable(long status, const char *code) {
  return status >= 500 || status == 429 ||
         (status == 400 && !strcmp(code, "RequestTimeout"));
}

/* ---- error messages ------------------------------------------------------ */

/* Appends the text of <tag>...</tag> in an S3 error body to b: the basic
 * entities decoded, anything unprintable dropped, at most 300 bytes. */
static bool xml_text(const char *body, const char *tag, mw_buf_t *b) {
  char open[32], close[32];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *start = strstr(body, open);
  if (!start) return true;
  start += strlen(open);
  const char *end = strstr(start, close);
  if (!end) return true;
  static const char *const ents[][2] = {{"&amp;", "&"},
                                        {"&lt;", "<"},
                                        {"&gt;", ">"},
                                        {"&quot;", "\""},
                                        {"&apos;", "'"}};
  size_t added = 0;
  for (const char *c = start; c < end; c++) {
    if (added >= 300) return mw__buf_puts(b, "...");
    const char *out = NULL;
    if (*c == '&')
      for (size_t i = 0; i < 5 && !out; i++)
        if (!strncmp(c, ents[i][0], strlen(ents[i][0]))) {
          out = ents[i][1];
          c += strlen(ents[i][0]) - 1;
        }
    unsigned char u = (unsigned char)*c;
    if (!out && (u < 0x20 || u == 0x7f)) continue;
    if (!(out ? mw__buf_puts(b, out) : mw__buf_append(b, c, 1))) return false;
    added++;
  }
  return true;
}

/* The error for an S3 error response; *out_retry tells whether the same
 * request may succeed later. */
static mw_error_t *status_error(const transfer_t *t, long status,
                                const char *prefix_msg, bool *out_retry) {
  mw_buf_t code, msg;
  mw__buf_init(&code, 512);
  mw__buf_init(&msg, 512);
  const char *body = t->resp.data ? t->resp.data : "";
  bool ok = xml_text(body, "Code", &code) && xml_text(body, "Message", &msg);
  const char *c = code.data ? code.data : "";
  const char *m = msg.data ? msg.data : "";
  mw_error_t *err;
  *out_retry = ok && status_retryable(status, c);
  if (!ok) {
    err = mw__nomem();
  } else if (status == 404 && (!*c || !strcmp(c, "NoSuchKey"))) {
    /* storage.h: a missing object says "not found". */
    err = mw_error_new(MW_ERR_IO, "%s: not found (404%s%s%s%s)", prefix_msg,
                       *c ? " " : "", c, *m ? ": " : "", m);
  } else {
    bool hint = t->region[0] && (status == 301 || status == 400 ||
                                 !strcmp(c, "AuthorizationHeaderMalformed"));
    err = mw_error_new(MW_ERR_IO, "%s: %ld%s%s%s%s%s%s%s", prefix_msg, status,
                       *c ? " " : "", c, *m ? ": " : "", m,
                       hint ? " (the bucket is in region " : "",
                       hint ? t->region : "", hint ? "; set AWS_REGION)" : "");
  }
  mw__buf_free(&code);
  mw__buf_free(&msg);
  return err;
}

static mw_error_t *curl_error(const op_t *op, const transfer_t *t, CURLcode rc,
                              uint64_t elapsed_ms, const char *prefix_msg) {
  if (rc == CURLE_OUT_OF_MEMORY) return mw__nomem();
  if (t->resp_too_big || rc == CURLE_FILESIZE_EXCEEDED)
    return mw_error_new(MW_ERR_IO, "%s: response larger than %zu bytes",
                        prefix_msg, op->max_resp);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return mw_error_new(MW_ERR_IO, "%s: timed out after %llu ms (%s)",
                        prefix_msg, (unsigned long long)elapsed_ms,
                        t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
  return mw_error_new(MW_ERR_IO, "%s: %s", prefix_msg,
                      t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

static mw_error_t *note_attempts(mw_error_t *err, int attempts) {
  if (mw_error_status(err) == MW_ERR_NOMEM) return err;
  mw_error_t *e = mw_error_new(mw_error_status(err), "%s (after %d attempts)",
                               mw_error_message(err), attempts);
  mw_error_free(err);
  return e;
}

/* ---- the pool ------------------------------------------------------------ */

static CURL *pool_get(s3_t *s) {
  CURL *h = NULL;
  pthread_mutex_lock(&s->lock);
  if (s->n_pool) h = s->pool[--s->n_pool];
  pthread_mutex_unlock(&s->lock);
  return h ? h : curl_easy_init();
}

static void pool_put(s3_t *s, CURL *h) {
  curl_easy_reset(h); /* drops pointers into this call's memory */
  pthread_mutex_lock(&s->lock);
  if (s->n_pool < POOL_MAX) {
    s->pool[s->n_pool++] = h;
    h = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  if (h) curl_easy_cleanup(h);
}

/* ---- an operation -------------------------------------------------------- */

static struct curl_slist *build_headers(const s3_t *s, const op_t *op) {
  char sha[65];
  if (op->body)
    mw_sha256_hex(op->body, op->body_len, sha);
  else
    memcpy(sha, EMPTY_SHA256, sizeof sha);
  char line[96];
  snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
  /* Every header here is signed: the payload hash makes S3 refuse a body
   * that was changed on the way. */
  struct curl_slist *l = curl_slist_append(NULL, line), *n = l;
  if (l && s->token_header && !(n = curl_slist_append(l, s->token_header))) {
    curl_slist_free_all(l);
    return NULL;
  }
  return n;
}

/* One attempt with the time left before deadline: NULL on a 2xx answer
 * (the body in t->resp), else the error and whether a retry may help. */
static mw_error_t *attempt(CURL *h, const s3_t *s, const op_t *op,
                           const char *url, struct curl_slist *headers,
                           transfer_t *t, uint64_t start, uint64_t deadline,
                           const char *what, bool *out_retry) {
  mw__buf_free(&t->resp);
  t->resp_too_big = false;
  t->body = op->body;
  t->body_len = op->body_len;
  t->body_off = 0;
  t->region[0] = '\0';
  t->errbuf[0] = '\0';
  *out_retry = false;
  uint64_t now = now_ms();
  if (now >= deadline) /* 0 would mean "no timeout" to curl */
    return mw_error_new(MW_ERR_IO, "%s: timed out after %llu ms", what,
                        (unsigned long long)(now - start));
  CURLcode rc = configure(h, s, op, url, headers, t, deadline - now);
  if (rc != CURLE_OK)
    return mw_error_new(MW_ERR_IO, "%s: libcurl setup failed: %s", what,
                        curl_easy_strerror(rc));
  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    *out_retry = curl_retryable(rc) && !t->resp_too_big;
    return curl_error(op, t, rc, now_ms() - start, what);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return NULL;
  return status_error(t, status, what, out_retry);
}

/* The object's URL, and "s3 <op> s3://bucket/prefix/key" that names it in
 * every message. */
static bool describe(const s3_t *s, const op_t *op, mw_buf_t *url,
                     mw_buf_t *what) {
  return mw__buf_puts(url, s->base_url) && put_encoded(url, s->prefix) &&
         put_encoded(url, op->key) && mw__buf_puts(what, "s3 ") &&
         mw__buf_puts(what, op->name) && mw__buf_puts(what, " s3://") &&
         mw__buf_puts(what, s->bucket) && mw__buf_puts(what, "/") &&
         mw__buf_puts(what, s->prefix) && mw__buf_puts(what, op->key);
}

/* Runs op, retrying with backoff while the deadline allows. On success
 * *out holds the response body. */
static mw_error_t *run(s3_t *s, const op_t *op, mw_buf_t *out) {
  mw_buf_t url, what;
  mw__buf_init(&url, 16384);
  mw__buf_init(&what, 4096);
  transfer_t t;
  memset(&t, 0, sizeof t);
  mw__buf_init(&t.resp, op->max_resp);
  struct curl_slist *headers = NULL;
  mw_error_t *err = NULL;
  CURL *h = NULL;
  if (!describe(s, op, &url, &what) || !(headers = build_headers(s, op)) ||
      !(h = pool_get(s))) {
    err = mw__nomem();
    goto out;
  }
  uint64_t start = now_ms(), deadline = start + s->timeout_ms;
  uint64_t backoff = S3_BACKOFF_MS;
  for (int n = 1;; n++) {
    bool retry;
    err = attempt(h, s, op, url.data, headers, &t, start, deadline, what.data,
                  &retry);
    if (!err) break;
    if (!retry || n >= S3_ATTEMPTS || now_ms() + backoff >= deadline) {
      if (n > 1) err = note_attempts(err, n);
      goto out;
    }
    mw_error_free(err);
    sleep_ms(backoff);
    backoff *= 2;
  }
  *out = t.resp;
  mw__buf_init(&t.resp, 0);
out:
  if (h) pool_put(s, h);
  curl_slist_free_all(headers);
  mw__buf_free(&t.resp);
  mw__buf_free(&url);
  mw__buf_free(&what);
  return err;
}

static mw_error_t *s3_put(void *ctx, const char *key, const uint8_t *data,
                          size_t len) {
  static const uint8_t empty[1];
  op_t op = {"put", key, data ? data : empty, len, S3_MAX_ERROR_BODY};
  mw_buf_t resp;
  mw_error_t *err = run(ctx, &op, &resp);
  if (!err) mw__buf_free(&resp);
  return err;
}

static mw_error_t *s3_get(void *ctx, const char *key, uint8_t **out,
                          size_t *len) {
  op_t op = {"get", key, NULL, 0, S3_MAX_OBJECT_BYTES};
  mw_buf_t resp;
  mw_error_t *err = run(ctx, &op, &resp);
  if (err) return err;
  *out = (uint8_t *)mw__buf_take(&resp, len);
  return *out ? NULL : mw__nomem();
}

static const mw_store_vtable_t s3_vtable = {s3_put, s3_get, s3_free};

mw_error_t *mw__store_s3_open(const char *spec, mw_store_t *store) {
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return mw_error_new(MW_ERR_IO, "libcurl initialisation failed: %s",
                        curl_easy_strerror(global_rc));
  const char *slash = strchr(spec, '/');
  size_t bl = slash ? (size_t)(slash - spec) : strlen(spec);
  const char *prefix = slash ? slash + 1 : "";
  size_t pl = strlen(prefix);
  while (pl > 0 && prefix[pl - 1] == '/') pl--;
  s3_t *s = calloc(1, sizeof *s);
  if (!s) return mw__nomem();
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return mw_error_new(MW_ERR_IO, "s3 store: cannot create a mutex");
  }
  mw_error_t *err = NULL;
  if (!(s->bucket = strndup(spec, bl)) || !(s->prefix = strndup(prefix, pl))) {
    err = mw__nomem();
    goto out;
  }
  if (!is_bucket_name(s->bucket)) {
    err = mw_error_new(MW_ERR_INPUT,
                       "s3 store: invalid bucket name '%s' (3-63 characters "
                       "of a-z 0-9 . -)",
                       s->bucket);
    goto out;
  }
  if (pl && !is_prefix(s->prefix)) {
    err = mw_error_new(MW_ERR_INPUT,
                       "s3 store: invalid prefix '%s' (segments without "
                       "'.', '..', control characters or '\\')",
                       s->prefix);
    goto out;
  }
  if (pl) { /* "a/b" -> "a/b/" */
    char *p = join(s->prefix, "/", "");
    if (!p) {
      err = mw__nomem();
      goto out;
    }
    free(s->prefix);
    s->prefix = p;
  }
  err = configure_from_env(s);
out:
  if (err) {
    s3_free(s);
    return err;
  }
  store->vt = &s3_vtable;
  store->ctx = s;
  return NULL;
}
