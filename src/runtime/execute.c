/*
 * execute.c - one execution, top to bottom:
 *
 *   request -> permissions -> store and limits -> WASI (locked down, output
 *   captured) -> instantiate -> call `execute` -> classify the outcome ->
 *   result with accounting.
 *
 * Everything per-engine (linker, host functions) and per-component
 * (compiled code, export index) was done earlier; this file creates only a
 * store, which dies with the execution, so a guest that hits a limit leaves
 * nothing behind.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/permissions_int.h"
#include "runtime/runtime_int.h"
#include "util/error_int.h"
#include "util/utf8.h"

/* The typed call of `execute` (third_party/wasmtime/src/execute.rs). */
typedef struct mw_call_item {
  const char *json;
  size_t json_len;
  const uint8_t *binary;
  size_t binary_len;
} mw_call_item_t;

typedef struct mw_call_args {
  const mw_call_item_t *items;
  size_t n_items;
  const char *env;
  size_t env_len;
  const char *workflow_id;
  size_t workflow_id_len;
  const char *execution_id;
  size_t execution_id_len;
  const char *node_id;
  size_t node_id_len;
  uint32_t run_index;
  uint64_t max_output_items;
  uint64_t max_output_bytes;
} mw_call_args_t;

typedef struct mw_call_sink {
  void *ctx;
  bool (*ok)(void *ctx, size_t n_items);
  bool (*item)(void *ctx, const char *json, size_t json_len,
               const uint8_t *binary, size_t binary_len, bool has_binary);
  void (*err)(void *ctx, const char *msg, size_t len);
} mw_call_sink_t;

wasmtime_error_t *mw__wt_call_execute(const wasmtime_component_func_t *f,
                                           wasmtime_context_t *ctx,
                                           const mw_call_args_t *args,
                                           const mw_call_sink_t *sink,
                                           uint8_t *exceeded);

/* Largest partial stdout/stderr line kept before it is cut into a record. */
#define MW_MAX_LINE 16384

static pthread_once_t default_perms_once = PTHREAD_ONCE_INIT;
static mw_permissions_t *default_perms;

static void make_default_perms(void) { default_perms = mw_permissions_new(); }

/* ---- captured stdout / stderr ------------------------------------------ */

/* Emits one captured line as a log record; invalid UTF-8 becomes '?' so
 * the record stays valid text. */
static void emit_line(mw_exec_t *ex, mw_log_source_t src, char *line,
                      size_t len) {
  mw__utf8_sanitize(line, len);
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\0') line[i] = '?';
  mw__exec_log(ex, src == MW_LOG_STDERR ? MW_LOG_WARN : MW_LOG_INFO, src, line,
               len);
}

static void capture(mw_exec_t *ex, mw_log_source_t src, const char *p,
                    size_t n) {
  mw_buf_t *b = src == MW_LOG_STDOUT ? &ex->out_line : &ex->err_line;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n' || b->len >= MW_MAX_LINE) {
      if (b->len) emit_line(ex, src, b->data, b->len);
      b->len = 0;
      if (p[i] == '\n') continue;
    }
    mw__buf_append(b, &p[i], 1);
  }
}

static ptrdiff_t on_stdout(void *data, const unsigned char *p, size_t n) {
  capture(data, MW_LOG_STDOUT, (const char *)p, n);
  return (ptrdiff_t)n;
}

static ptrdiff_t on_stderr(void *data, const unsigned char *p, size_t n) {
  capture(data, MW_LOG_STDERR, (const char *)p, n);
  return (ptrdiff_t)n;
}

/* ---- response sink ------------------------------------------------------ */

/* The shim has already charged the response against the output caps; the
 * sink copies it into the result. */
typedef struct sink_state {
  mw_exec_t *ex;
  uint64_t bytes;
  const char *exceeded; /* which cap, when one was hit */
} sink_state_t;

static bool sink_ok(void *ctx, size_t n) {
  sink_state_t *s = ctx;
  mw_result_t *r = s->ex->result;
  r->outcome = MW_OUTCOME_OK;
  if (n && !(r->items = calloc(n, sizeof *r->items))) {
    s->exceeded = "host memory";
    return false;
  }
  return true;
}

static bool sink_item(void *ctx, const char *json, size_t json_len,
                      const uint8_t *bin, size_t bin_len, bool has_bin) {
  sink_state_t *s = ctx;
  mw_result_t *r = s->ex->result;
  s->bytes += json_len + bin_len;
  mw_item_t *it = &r->items[r->n_items];
  /* memcpy, not strndup: a NUL is valid UTF-8, and json_len must stay the
   * length of what was copied. */
  if ((it->json = malloc(json_len + 1))) {
    memcpy(it->json, json, json_len);
    it->json[json_len] = '\0';
  }
  it->json_len = json_len;
  if (has_bin && (it->binary = malloc(bin_len ? bin_len : 1))) {
    memcpy(it->binary, bin, bin_len);
    it->binary_len = bin_len;
  }
  if (!it->json || (has_bin && !it->binary)) {
    free(it->json);
    free(it->binary);
    s->exceeded = "host memory";
    return false;
  }
  r->n_items++;
  return true;
}

static void sink_err(void *ctx, const char *msg, size_t len) {
  sink_state_t *s = ctx;
  mw_result_t *r = s->ex->result;
  r->outcome = MW_OUTCOME_ERR;
  s->bytes += len;
  if (!(r->message = strndup(msg, len))) s->exceeded = "host memory";
}

/* ---- outcome ------------------------------------------------------------ */

static void set_trap(mw_result_t *r, mw_trap_kind_t kind, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

static void set_trap(mw_result_t *r, mw_trap_kind_t kind, const char *fmt,
                     ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < r->n_items; i++) {
    free(r->items[i].json);
    free(r->items[i].binary);
  }
  free(r->items);
  r->items = NULL;
  r->n_items = 0;
  free(r->message);
  r->message = strdup(msg);
  r->outcome = MW_OUTCOME_TRAP;
  r->trap = kind;
}

/* A guest's panic: `unreachable` right after its last log record, at error
 * level from console, says "panicked at FILE:LINE:COL: message" (what the
 * Rust SDK's panic hook writes before it aborts; Rust without wasm
 * exceptions cannot unwind back to execute). That first line, or NULL. The
 * guest could return this err itself, so trusting it gives nothing away. */
static const char *panic_line(const mw_result_t *r) {
  if (r->n_logs == 0) return NULL;
  const mw_log_t *last = &r->logs[r->n_logs - 1];
  if (last->level != MW_LOG_ERROR || last->source != MW_LOG_CONSOLE || !last->message ||
      strncmp(last->message, "panicked", 8) != 0)
    return NULL;
  return last->message;
}

/* Turns a Wasmtime error from instantiation or the call into a trap kind.
 * Trap codes are read, never message text. A refused memory or table grow
 * makes the guest fail its own way (often `unreachable` after malloc
 * returns NULL), so the limiter's record decides memory_limit. */
static void classify(mw_exec_t *ex, wasmtime_error_t *werr) {
  const mw_permissions_t *p = ex->perms;
  uint8_t code;
  bool is_trap = mw__wt_error_trap_code(werr, &code);
  char *msg = mw__wasmtime_message(werr);
  mw_result_t *r = ex->result;
  if (is_trap && code == WASMTIME_TRAP_CODE_OUT_OF_FUEL)
    set_trap(r, MW_TRAP_FUEL_EXHAUSTED, "fuel exhausted (max_fuel %llu)",
             (unsigned long long)mw_permissions_limit(p, MW_LIMIT_MAX_FUEL));
  else if (is_trap && code == WASMTIME_TRAP_CODE_INTERRUPT)
    set_trap(r, MW_TRAP_TIMEOUT, "execution timed out (timeout_ms %llu)",
             (unsigned long long)mw_permissions_limit(p, MW_LIMIT_TIMEOUT_MS));
  else if (is_trap && code == WASMTIME_TRAP_CODE_STACK_OVERFLOW)
    set_trap(r, MW_TRAP_STACK_OVERFLOW, "wasm stack overflow");
  else if (ex->limiter.memory_refused || ex->limiter.table_refused)
    set_trap(r, MW_TRAP_MEMORY_LIMIT,
             "%s limit reached (max_memory_mb %llu, peak %llu bytes): %s",
             ex->limiter.memory_refused ? "linear memory" : "table",
             (unsigned long long)mw_permissions_limit(p, MW_LIMIT_MAX_MEMORY_MB),
             (unsigned long long)ex->limiter.memory_peak, msg ? msg : "");
  else if (is_trap && code == WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED && panic_line(r)) {
    set_trap(r, MW_TRAP_GUEST, "%.*s", (int)strcspn(panic_line(r), "\n"), panic_line(r));
    r->outcome = MW_OUTCOME_ERR; /* the message stays; items are gone */
    r->trap = MW_TRAP_NONE;
  } else
    set_trap(r, MW_TRAP_GUEST, "%s", msg ? msg : "guest trapped");
  free(msg);
}

static mw_call_item_t *call_items(const mw_request_t *req, uint64_t *bytes) {
  mw_call_item_t *v = calloc(req->n_items ? req->n_items : 1, sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < req->n_items; i++) {
    const mw_item_t *it = &req->items[i];
    v[i] = (mw_call_item_t){it->json, it->json_len, it->binary,
                            it->binary_len};
    *bytes += it->json_len + it->binary_len;
  }
  return v;
}

mw_error_t *mw_execute(mw_engine_t *engine, const mw_component_t *c,
                       const mw_request_t *req, mw_result_t **out) {
  if (!engine || !c || !req || !out)
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  if (!c->execute)
    return mw_error_new(MW_ERR_COMPONENT,
                        "component does not fit marie:node@1.0.0: %s",
                        c->problems ? c->problems : "?");
  if (c->engine != engine)
    return mw_error_new(MW_ERR_MISUSE, "component belongs to another engine");
  pthread_once(&default_perms_once, make_default_perms);
  const mw_permissions_t *perms = req->perms ? req->perms : default_perms;
  if (!perms) return mw__nomem();

  uint64_t start = mw__now_ns();
  mw_exec_t ex = {.req = req, .perms = perms, .host = req->host};
  mw__buf_init(&ex.out_line, MW_MAX_LINE + 1);
  mw__buf_init(&ex.err_line, MW_MAX_LINE + 1);
  if (!(ex.result = mw__result_new())) return mw__nomem();
  mw_result_t *r = ex.result;

  /* Limits. The memory budget covers all of the node's linear memories.
   * Neither it nor the table cap may exceed the pool's slots: a grow the
   * pool refuses bypasses the limiter's record, and the guest's resulting
   * trap would not read as memory_limit. */
  uint64_t mem = mw_permissions_limit(perms, MW_LIMIT_MAX_MEMORY_MB) << 20;
  if (engine->pool_memory_bytes && mem > engine->pool_memory_bytes)
    mem = engine->pool_memory_bytes;
  uint32_t table_elements = 100000;
  if (engine->pool_table_elements && table_elements > engine->pool_table_elements)
    table_elements = engine->pool_table_elements;
  ex.limiter = (mw_limiter_t){.memory_bytes = (int64_t)mem,
                              .table_elements = table_elements,
                              .instances = 32,
                              .tables = 64,
                              .memories = 16};
  uint64_t fuel = mw_permissions_limit(perms, MW_LIMIT_MAX_FUEL);
  uint64_t timeout_ms = mw_permissions_limit(perms, MW_LIMIT_TIMEOUT_MS);
  ex.deadline_ns = start + timeout_ms * 1000000ull;

  wasmtime_store_t *store = wasmtime_store_new(engine->wasm, &ex, NULL);
  wasmtime_context_t *ctx = wasmtime_store_context(store);
  mw__wt_store_set_limiter(store, &ex.limiter);
  wasmtime_error_t *werr = wasmtime_context_set_fuel(ctx, fuel);
  if (werr) wasmtime_error_delete(werr);
  /* One tick of slack: the first tick may come at once. */
  wasmtime_context_set_epoch_deadline(
      ctx, (timeout_ms + engine->tick_ms - 1) / engine->tick_ms + 1);

  /* WASI: no args, env, preopens or network; stdio captured, not inherited. */
  wasi_config_t *wasi = wasi_config_new();
  wasi_config_set_stdout_custom(wasi, on_stdout, &ex, NULL);
  wasi_config_set_stderr_custom(wasi, on_stderr, &ex, NULL);
  werr = wasmtime_context_set_wasi(ctx, wasi);

  wasmtime_component_instance_t inst;
  if (!werr)
    werr = wasmtime_component_linker_instantiate(engine->linker, ctx, c->wc,
                                                 &inst);
  wasmtime_component_func_t func;
  if (!werr &&
      !wasmtime_component_instance_get_func(&inst, ctx, c->execute, &func))
    werr = wasmtime_error_new("export 'execute' is not a function");

  sink_state_t sink = {.ex = &ex};
  if (!werr) {
    uint64_t bytes_in = req->env_len;
    mw_call_item_t *items = call_items(req, &bytes_in);
    if (!items) {
      werr = wasmtime_error_new("out of host memory");
    } else {
      mw_call_args_t args = {
          items,           req->n_items,           req->env,
          req->env_len,    req->workflow_id,       strlen(req->workflow_id),
          req->execution_id, strlen(req->execution_id), req->node_id,
          strlen(req->node_id), req->run_index,
          mw_permissions_limit(perms, MW_LIMIT_MAX_OUTPUT_ITEMS),
          mw_permissions_limit(perms, MW_LIMIT_MAX_OUTPUT_BYTES)};
      mw_call_sink_t cs = {&sink, sink_ok, sink_item, sink_err};
      r->stats.bytes_in = bytes_in;
      uint8_t over = 0;
      werr = mw__wt_call_execute(&func, ctx, &args, &cs, &over);
      if (over) sink.exceeded = over == 1 ? "max_output_items" : "max_output_bytes";
      free(items);
    }
  }

  if (sink.exceeded) {
    set_trap(r, MW_TRAP_OUTPUT_LIMIT, "response exceeds %s (%llu)", sink.exceeded,
             (unsigned long long)mw_permissions_limit(
                 perms, strcmp(sink.exceeded, "max_output_items") == 0
                            ? MW_LIMIT_MAX_OUTPUT_ITEMS
                            : MW_LIMIT_MAX_OUTPUT_BYTES));
  } else if (werr) {
    classify(&ex, werr);
  }
  if (werr) wasmtime_error_delete(werr);
  /* Whatever the guest left without a newline is still worth seeing. */
  if (ex.out_line.len) emit_line(&ex, MW_LOG_STDOUT, ex.out_line.data, ex.out_line.len);
  if (ex.err_line.len) emit_line(&ex, MW_LOG_STDERR, ex.err_line.data, ex.err_line.len);

  /* Nothing the host writes may carry a secret the guest read. */
  if (r->message && ex.n_secrets_read) {
    char *m = mw__redact(&ex, r->message, strlen(r->message), NULL);
    if (m) {
      free(r->message);
      r->message = m;
    }
  }
  mw__exec_forget_secrets(&ex);

  uint64_t left = 0;
  wasmtime_error_t *ferr = wasmtime_context_get_fuel(ctx, &left);
  if (ferr)
    wasmtime_error_delete(ferr);
  else if (left <= fuel)
    r->stats.fuel_used = fuel - left;
  wasmtime_store_delete(store);
  mw__buf_free(&ex.out_line);
  mw__buf_free(&ex.err_line);
  r->stats.bytes_out = sink.bytes;
  r->stats.memory_peak_bytes = ex.limiter.memory_peak;
  r->stats.wall_time_us = (mw__now_ns() - start) / 1000;
  *out = r;
  return NULL;
}
