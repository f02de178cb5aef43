/*
 * server.h - `marie-wasm serve`, the HTTP service: the types its files
 * share.
 *
 * The service is libmicrohttpd with one thread per connection: a request is
 * read, checked (route, auth, size, admission), then handled top-down on
 * that thread (http.c). Handlers live one family a file (h_execute.c,
 * h_compile.c, h_components.c, h_status.c) and use only the public mw_ API.
 * Components are kept compiled in an LRU keyed by SHA-256 (registry.c) and
 * persisted in the artifact store, so any number of `serve` processes that
 * share a store and a KV serve the same components.
 *
 * Prefix: srv_. Ownership: srv_reply_t bodies are malloc'd and handed to
 * libmicrohttpd, which frees them; everything else is stated per function.
 */
#ifndef MW_SERVER_H
#define MW_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marie_wasm.h"

struct MHD_Connection;
struct MHD_Daemon;

/* ---- configuration (filled by src/cli/serve.c) ---------------------------- */
typedef struct srv_config {
  const char *listen;          /* "127.0.0.1:8080", "[::1]:8080" */
  const char *data_dir;        /* embedded defaults live here */
  const char *kv_url;          /* NULL: sqlite://<data>/kv.db */
  const char *store;           /* NULL: <data>/store */
  const char *token_file;      /* NULL: no authentication */
  unsigned workers;            /* executions running at once */
  unsigned max_concurrency;    /* /v1 requests admitted at once; more: 429 */
  unsigned max_connections;    /* open connections (one thread each) */
  size_t max_body;             /* request body bytes; more: 413 */
  uint64_t max_timeout_ms;     /* cap on permissions.timeout_ms */
  unsigned cache_entries;      /* compiled components kept in memory */
  unsigned shutdown_timeout_s; /* how long a drain may take */
  bool allow_private_network;  /* http-client may reach loopback etc. */
} srv_config_t;

#define SRV_MAX_JSON_DEPTH 64
#define SRV_MAX_MESSAGE (64u << 10) /* error messages are cut there */

/* ---- metrics (metrics.c) ------------------------------------------------- */
#define SRV__COUNT(e, name) +1
enum { SRV_TRAP_KINDS = 0 MW_TRAP_LIST(SRV__COUNT) };
#define SRV_LATENCY_BUCKETS 12
#define SRV_STATUS_CODES 16

typedef struct srv_metrics {
  atomic_uint_fast64_t exec_ok, exec_err, exec_trap[SRV_TRAP_KINDS];
  atomic_uint_fast64_t exec_failed; /* could not be attempted */
  atomic_uint_fast64_t latency_bucket[SRV_LATENCY_BUCKETS + 1];
  atomic_uint_fast64_t latency_sum_us, latency_count;
  atomic_uint_fast64_t fuel_used;
  atomic_int_fast64_t active_executions;
  atomic_uint_fast64_t component_hits, component_misses;
  atomic_uint_fast64_t compile_hits, compile_misses, compile_errors;
  atomic_uint_fast64_t http_status[SRV_STATUS_CODES + 1];
} srv_metrics_t;

void srv_metrics_execution(srv_metrics_t *m, const mw_result_t *res,
                           uint64_t elapsed_us);
void srv_metrics_status(srv_metrics_t *m, unsigned status);
/* The Prometheus text exposition (malloc'd), NULL when out of memory. */
char *srv_metrics_render(srv_metrics_t *m, unsigned inflight,
                         size_t *out_len);

/* ---- compiled components (registry.c) ------------------------------------- */
typedef struct srv_registry srv_registry_t;

/* An entry: immutable once handed out; hold a reference while using it. */
typedef struct srv_component {
  char sha256[65];         /* of the .wasm: the component_id */
  char *key;               /* store key of the .wasm */
  char *cwasm_key;         /* store key of the native artifact, or NULL */
  char *node_id, *language, *created_at; /* from the record; may be NULL */
  size_t size;             /* .wasm bytes */
  mw_component_t *component;
  /* registry bookkeeping, under the registry's lock */
  unsigned refs;
  bool loading, evicted;
  struct srv_component *prev, *next;
} srv_component_t;

mw_error_t *srv_registry_new(mw_engine_t *engine, mw_store_t *store,
                             const char *tmp_dir, unsigned capacity,
                             srv_metrics_t *metrics, srv_registry_t **out);
void srv_registry_free(srv_registry_t *reg);

/* A component by its component_id (sha256) or by store key (exactly one
 * non-NULL), from memory or else loaded from the store. *out holds a
 * reference: give it back with srv_registry_release. Errors: MW_ERR_INPUT
 * (malformed id/key), MW_ERR_IO ("not found" or the store's failure),
 * MW_ERR_COMPONENT, MW_ERR_ARTIFACT (bytes do not match the key). */
mw_error_t *srv_registry_get(srv_registry_t *reg, const char *sha256,
                             const char *key, srv_component_t **out);

/* Registers .wasm bytes (borrowed) for node_id: compiles them (refusing a
 * component that does not fit the world), stores the .wasm, the native
 * artifact and a record, and keeps the component in memory. language may
 * be NULL. *out holds a reference. */
mw_error_t *srv_registry_add(srv_registry_t *reg, const uint8_t *wasm,
                             size_t len, const char *node_id,
                             const char *language, srv_component_t **out);
void srv_registry_release(srv_registry_t *reg, srv_component_t *c);

/* Whether err means "no such component/key" (the store says "not found"). */
bool srv_is_not_found(const mw_error_t *err);

/* ---- authentication (auth.c) ------------------------------------------------ */
/* Reads a bearer token from path (surrounding whitespace ignored, at least
 * 16 bytes) and keeps only its SHA-256. Errors: MW_ERR_IO, MW_ERR_INPUT. */
mw_error_t *srv_auth_load(const char *path, unsigned char out_digest[32]);
/* Whether an Authorization header value carries the token (constant time). */
bool srv_auth_check(const unsigned char digest[32], const char *header);

/* ---- the server ---------------------------------------------------------- */
typedef struct server {
  srv_config_t cfg;
  char *tmp_dir;
  mw_engine_t *engine;
  mw_store_t *store;
  mw_host_t *host;
  mw_compiler_t *compiler;  /* NULL when it cannot run here */
  char *compiler_problem;   /* why not, when NULL */
  srv_registry_t *registry;
  srv_metrics_t metrics;
  bool auth;
  unsigned char token_digest[32];
  struct MHD_Daemon *daemon;
  atomic_uint admitted;      /* /v1 requests being served */
  atomic_uint open_requests; /* all requests between headers and done */
  atomic_bool draining;
  pthread_mutex_t lock;      /* guards slots_free; cond signals slots/drain */
  pthread_cond_t cond;
  unsigned slots_free;       /* of cfg.workers */
} server_t;

/* Runs the service until SIGTERM or SIGINT, then drains and stops.
 * Returns a CLI exit code. */
int srv_run(const srv_config_t *cfg);

/* Waits for an execution slot until deadline_ms (CLOCK_MONOTONIC); false
 * when the wait timed out. */
bool srv_slot_acquire(server_t *s, uint64_t deadline_ms);
void srv_slot_release(server_t *s);
uint64_t srv_now_ms(void); /* CLOCK_MONOTONIC */
uint64_t srv_now_us(void);

/* ---- HTTP (http.c) --------------------------------------------------------- */
typedef struct srv_req {
  server_t *srv;
  struct MHD_Connection *conn;
  const struct srv_route *route;
  char *method, *path;
  const char *id;              /* {id} of /v1/components/{id} */
  char *body;                  /* NUL-terminated */
  size_t body_len, body_cap;
  size_t drained;              /* bytes of a too-large body thrown away */
  bool admitted, too_large;
  bool busy;                   /* over max_concurrency: 429 once the body is read */
  uint64_t start_us;
  char request_id[33];
  unsigned status;             /* of the response queued */
  size_t bytes_out;
  /* for the access log, set by handlers */
  char component_id[65];
  const char *outcome;         /* static */
} srv_req_t;

typedef struct srv_reply {
  unsigned status;
  char *body;                  /* malloc'd */
  size_t len;
  const char *content_type;
  const char *header_name[3];  /* extra headers (static names) */
  char *header_value[3];       /* malloc'd */
} srv_reply_t;

/* Whether listen is a HOST:PORT this server can parse; else a message. */
bool srv_listen_check(const char *listen, char *errbuf, size_t errlen);
/* Starts libmicrohttpd on s->cfg.listen; NULL and a message on failure. */
struct MHD_Daemon *srv_http_start(server_t *s, char *errbuf, size_t errlen);

/* Replies. Each sets status and a JSON body; none fails (out of memory
 * becomes a bare 500). srv_reply_json consumes doc. */
void srv_reply_json(srv_reply_t *out, unsigned status, json_t *doc);
void srv_reply_error(srv_reply_t *out, unsigned status, const char *code,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* An mw_error_t as a reply, status chosen by its code; frees err. */
void srv_reply_mw_error(srv_reply_t *out, mw_error_t *err, const char *what);
void srv_reply_header(srv_reply_t *out, const char *name, const char *value);
/* Replaces bytes that do not start valid UTF-8 with '?', in place. */
void srv_utf8_clean(char *s);

/* A query argument of the request, or NULL. */
const char *srv_query(const srv_req_t *r, const char *name);
/* A request header, or NULL. */
const char *srv_header(const srv_req_t *r, const char *name);

/* The body as a JSON object, nesting limited to SRV_MAX_JSON_DEPTH and
 * duplicate keys refused; NULL with a 400 reply otherwise (jsonbody.c). */
json_t *srv_parse_body(const srv_req_t *r, srv_reply_t *out);
/* Refuses (400) any key of obj not in allowed (NULL-terminated). */
bool srv_check_keys(json_t *obj, const char *const *allowed, const char *what,
                    srv_reply_t *out);
/* The language named exactly as the API allows; false with a 400 reply. */
bool srv_parse_language(const char *name, mw_language_t *out_lang, srv_reply_t *out);
/* Whether s is 64 lowercase hex digits. */
bool srv_is_sha256(const char *s);

/* ---- handlers ---------------------------------------------------------------- */
void srv_handle_healthz(srv_req_t *r, srv_reply_t *out);
void srv_handle_metrics(srv_req_t *r, srv_reply_t *out);
void srv_handle_execute(srv_req_t *r, srv_reply_t *out);
void srv_handle_compile(srv_req_t *r, srv_reply_t *out);
void srv_handle_upload(srv_req_t *r, srv_reply_t *out);
void srv_handle_component(srv_req_t *r, srv_reply_t *out);

/* ---- logs (log.c): JSON lines on stderr, one write each ------------------------ */
void srv_log_access(const srv_req_t *r);
void srv_log(const char *level, const char *msg, json_t *fields);
/* Microseconds since the epoch as RFC 3339 UTC. */
void srv_rfc3339(char out[40]);

#endif
