/*
 * marie.h — the C SDK for marie-wasm code nodes (world marie:node/node@1.0.0).
 *
 * A node is one C file that defines
 *
 *     marie_response *execute(const marie_items *input, const char *config,
 *                             const marie_context *ctx);
 *
 * guest/c/compile.sh includes this header for you (it is force-included),
 * so the prototype below is always in scope: a definition with another
 * signature is a compile error. Including it yourself is fine too.
 *
 * Memory: everything the SDK hands out — the input, the config, the
 * context, strings and buffers returned by marie_* functions, responses —
 * belongs to the SDK and stays valid until execute returns; it is all freed
 * then. Never free() it, and do not keep pointers to it in static
 * variables. Arguments you pass in are only read during the call (the SDK
 * copies what it keeps), so stack buffers are fine. Your own malloc()ed
 * memory is yours as usual.
 *
 * Failure: functions that can fail return NULL or false, and
 * marie_last_error() then says why. Running out of memory inside the SDK
 * traps (abort), and so does any other trap in your code — abort(), a
 * failed assert(), __builtin_trap(), a NULL dereference or an out-of-bounds
 * array index the compiler can check, a stack overflow: the runtime reports
 * the execution as a guest trap. That is C's "panic"; return
 * marie_err("...") for failures the workflow should see as the node's error.
 *
 * Strings crossing to the host must be UTF-8: log messages and events with
 * invalid bytes get U+FFFD in their place; a secret name, KV key, URL,
 * method or header that is not UTF-8 makes the call fail.
 */
#ifndef MARIE_H
#define MARIE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MARIE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MARIE_PRINTF(fmt, args)
#endif

/* ---- what execute gets --------------------------------------------------- */

typedef struct marie_item {
    const char *json;      /* JSON text, NUL-terminated */
    size_t json_len;       /* its length in bytes, without the NUL */
    const uint8_t *binary; /* the item's binary data; NULL when it has none
                              (an empty binary is non-NULL with length 0) */
    size_t binary_len;
} marie_item;

typedef struct marie_items {
    const marie_item *items;
    size_t count;
} marie_items;

typedef struct marie_context {
    const char *workflow_id;
    const char *execution_id;
    const char *node_id;
    uint32_t run_index;
} marie_context;

/* What execute returns: built with marie_ok() + marie_push*() or with
 * marie_err(). Opaque. */
typedef struct marie_response marie_response;

/*
 * The node. input: the items (count may be 0). config: the node's
 * configuration (env.vars) as JSON text, "{}" when blank; configuration that
 * is not valid JSON fails the execution with err("config is not valid JSON:
 * ...") and execute is not called. Returning NULL fails the execution too.
 */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx);

/* ---- building the response ----------------------------------------------- */

/* A success response with no items yet. */
marie_response *marie_ok(void);

/* Append an item whose json is the given JSON text (copied; checked: text
 * that is not valid JSON turns the response into
 * err("item N: 'json' is not valid JSON text: ...")). Return res, so calls
 * chain; res NULL or an err response: nothing happens. */
marie_response *marie_push(marie_response *res, const char *json);

/* The same with a printf-style format for the JSON text. */
marie_response *marie_pushf(marie_response *res, const char *fmt, ...) MARIE_PRINTF(2, 3);

/* The same with binary data (copied; data may be NULL when len is 0). */
marie_response *marie_push_binary(marie_response *res, const char *json, const void *data,
                                  size_t len);

/* A failure response; printf-style message. */
marie_response *marie_err(const char *fmt, ...) MARIE_PRINTF(1, 2);

/* ---- strings ------------------------------------------------------------- */

/* printf into a new string (SDK-owned). */
char *marie_printf(const char *fmt, ...) MARIE_PRINTF(1, 2);
char *marie_vprintf(const char *fmt, va_list ap) MARIE_PRINTF(1, 0);

/* s as a quoted JSON string: marie_json_quote("a\"b") is "\"a\\\"b\"".
 * Invalid UTF-8 becomes U+FFFD; NULL gives null. SDK-owned. */
const char *marie_json_quote(const char *s);
const char *marie_json_quote_n(const void *s, size_t len);

/* len bytes of zeroed SDK-owned memory (freed when execute returns). */
void *marie_alloc(size_t len);

/* Why the last failing marie_* call failed ("" if none has). */
const char *marie_last_error(void);

/* ---- reading JSON -------------------------------------------------------- *
 * These take a pointer to JSON text (leading white space is skipped) and
 * return pointers into that same text, so lookups chain and every function
 * accepts NULL (and then returns NULL / false / 0):
 *
 *     int64_t n;
 *     if (marie_json_int(marie_json_get(marie_json_get(config, "limits"), "max"), &n)) ...
 *
 * They never read past the text's NUL, whatever it holds.            */

typedef enum marie_json_type {
    MARIE_JSON_INVALID = 0,
    MARIE_JSON_NULL,
    MARIE_JSON_BOOL,
    MARIE_JSON_NUMBER,
    MARIE_JSON_STRING,
    MARIE_JSON_ARRAY,
    MARIE_JSON_OBJECT
} marie_json_type;

/* The type of the value at v, judged by its first character. */
marie_json_type marie_json_typeof(const char *v);

/* The value of member key of the object at v (the first one if repeated),
 * or NULL. */
const char *marie_json_get(const char *v, const char *key);

/* Element index (from 0) of the array at v, or NULL. */
const char *marie_json_at(const char *v, size_t index);

/* Number of elements of an array / members of an object; 0 otherwise. */
size_t marie_json_count(const char *v);

/* Length in bytes of the text of the value at v (white space before it
 * skipped, not counted); 0 if it is not a valid value. Copy a value into
 * your output with marie_pushf(res, "{\"copy\":%.*s}", (int)n, p). */
size_t marie_json_len(const char *v);

/* The string at v, unescaped (SDK-owned, NUL-terminated; *len, if len is
 * not NULL, gets its length, which counts any \u0000 inside). NULL if v is
 * not a string. */
const char *marie_json_string(const char *v, size_t *len);

/* The number at v. marie_json_int also accepts 1e3 or 2.0, but not 2.5 or
 * a number outside int64_t. false (and *out unchanged) if v is not such a
 * number. */
bool marie_json_number(const char *v, double *out);
bool marie_json_int(const char *v, int64_t *out);
bool marie_json_bool(const char *v, bool *out);
bool marie_json_is_null(const char *v);

/* Whether the whole text is one valid JSON value (RFC 8259, UTF-8). */
bool marie_json_valid(const char *text);

/* ---- host capabilities --------------------------------------------------- *
 * What a node may do is set by the runtime's permissions; a refused call
 * fails (NULL / false) and the host logs the refusal.                  */

/* Logs at the given level; printf-style. */
void marie_log_debug(const char *fmt, ...) MARIE_PRINTF(1, 2);
void marie_log_info(const char *fmt, ...) MARIE_PRINTF(1, 2);
void marie_log_warn(const char *fmt, ...) MARIE_PRINTF(1, 2);
void marie_log_error(const char *fmt, ...) MARIE_PRINTF(1, 2);

/* Emits an event; the payload is free text (JSON by convention). */
void marie_event_emit(const char *type, const char *payload);

/* The secret's value (SDK-owned), or NULL when it is absent or denied. */
const char *marie_secret_get(const char *name);

/* The stored value (SDK-owned, followed by a NUL so text can be used as a
 * string; *len, if len is not NULL, gets its length), or NULL when the key
 * is absent or access is denied. */
const char *marie_kv_get(const char *key, size_t *len);

/* Stores len bytes of value (NULL allowed when len is 0). ttl_seconds: how
 * long to keep it, 0 to 4294967295, or MARIE_KV_NO_TTL to keep it until
 * deleted. */
#define MARIE_KV_NO_TTL (-1)
bool marie_kv_put(const char *key, const void *value, size_t len, int64_t ttl_seconds);
bool marie_kv_delete(const char *key);

typedef struct marie_header {
    const char *name;
    const char *value;
} marie_header;

typedef struct marie_http_request {
    const char *method;          /* NULL: "GET" */
    const char *url;
    const marie_header *headers; /* header_count of them; may be NULL if 0 */
    size_t header_count;
    const void *body;            /* NULL: no body */
    size_t body_len;
} marie_http_request;

typedef struct marie_http_response {
    uint16_t status;
    const marie_header *headers; /* as the host returns them */
    size_t header_count;
    const char *body;            /* followed by a NUL, so text can be used as a string */
    size_t body_len;
} marie_http_response;

/* Sends the request; the response is SDK-owned. A 4xx/5xx answer is a
 * response like any other (check status); NULL means no response: the host
 * refused the request (permissions, address rules) or it failed, and
 * marie_last_error() says which. */
const marie_http_response *marie_http_fetch(const marie_http_request *req);

/* GET url without headers. */
const marie_http_response *marie_http_get(const char *url);

/* The value of the response's first header called name (ignoring case), or
 * NULL. */
const char *marie_http_header(const marie_http_response *res, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MARIE_H */
