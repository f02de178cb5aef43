/*
 * component.c - compiling, caching, mapping and checking components.
 *
 * Per-component work happens here once: compile (or map a cached
 * artifact), check the component against the marie:node world, find the
 * `execute` export. Executions then only instantiate.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_int.h"
#include "runtime/wit_type.h"
#include "util/error_int.h"
#include "util/file.h"

#define ITEM_T "record{json: string, binary: option<list<u8>>}"

/* The world's functions as wit_type.c renders them. */
static const struct {
  const char *iface, *func, *type;
  unsigned cap;
} world_imports[] = {
    {"marie:node/http-client@1.0.0", "fetch",
     "func(req: record{method: string, url: string, headers: "
     "list<tuple<string, string>>, body: option<list<u8>>}) -> "
     "result<record{status: u16, headers: list<tuple<string, string>>, body: "
     "list<u8>}, string>",
     MW_CAP_HTTP},
    {"marie:node/secrets@1.0.0", "get", "func(name: string) -> option<string>",
     MW_CAP_SECRETS},
    {"marie:node/kv@1.0.0", "get", "func(key: string) -> option<list<u8>>",
     MW_CAP_KV},
    {"marie:node/kv@1.0.0", "put",
     "func(key: string, value: list<u8>, ttl-seconds: option<u32>) -> "
     "result<_, string>",
     MW_CAP_KV},
    {"marie:node/kv@1.0.0", "delete", "func(key: string) -> result<_, string>",
     MW_CAP_KV},
    {"marie:node/console@1.0.0", "log",
     "func(level: enum{debug, info, warn, error}, message: string)",
     MW_CAP_CONSOLE},
    {"marie:node/events@1.0.0", "emit",
     "func(event-type: string, payload: string)", MW_CAP_EVENTS},
};
#define N_WORLD_IMPORTS (sizeof world_imports / sizeof *world_imports)

static const char execute_type[] =
    "func(input: list<" ITEM_T ">, env: record{vars: string}, ctx: "
    "record{workflow-id: string, execution-id: string, node-id: string, "
    "run-index: u32}) -> variant{ok(list<" ITEM_T ">), err(string)}";

/* WASI 0.2 packages the engine's linker provides. wasi:http is not among
 * them: outbound HTTP goes through marie:node/http-client only. */
static const char *const wasi_packages[] = {
    "wasi:io/", "wasi:clocks/", "wasi:random/",
    "wasi:cli/", "wasi:filesystem/", "wasi:sockets/"};

static bool starts_with(const char *s, size_t n, const char *p) {
  size_t pl = strlen(p);
  return n >= pl && memcmp(s, p, pl) == 0;
}

static bool name_is(const char *s, size_t n, const char *z) {
  return n == strlen(z) && memcmp(s, z, n) == 0;
}

/* Appends "; "-separated problem text. */
static void problem(mw_buf_t *p, const char *fmt, const char *a, size_t an,
                    const char *b) {
  char line[1024];
  snprintf(line, sizeof line, fmt, (int)an, a, b ? b : "");
  if (p->len) mw__buf_puts(p, "; ");
  mw__buf_puts(p, line);
}

static void check_marie_import(const wasm_engine_t *eng, const char *name,
                               size_t nlen,
                               const wasmtime_component_item_t *item,
                               unsigned *caps, mw_buf_t *probs) {
  if (name_is(name, nlen, "marie:node/types@1.0.0")) return; /* types only */
  bool known = false;
  for (size_t i = 0; i < N_WORLD_IMPORTS; i++)
    if (name_is(name, nlen, world_imports[i].iface)) known = true;
  if (!known || item->kind != WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE) {
    problem(probs, "import '%.*s' is not an interface of marie:node@1.0.0%s",
            name, nlen, NULL);
    return;
  }
  const wasmtime_component_instance_type_t *it = item->of.component_instance;
  size_t n = wasmtime_component_instance_type_export_count(it, eng);
  for (size_t j = 0; j < n; j++) {
    const char *fname;
    size_t flen;
    wasmtime_component_item_t f;
    if (!wasmtime_component_instance_type_export_nth(it, eng, j, &fname, &flen,
                                                     &f))
      continue;
    const char *want = NULL;
    for (size_t i = 0; i < N_WORLD_IMPORTS; i++)
      if (name_is(name, nlen, world_imports[i].iface) &&
          name_is(fname, flen, world_imports[i].func)) {
        want = world_imports[i].type;
        *caps |= world_imports[i].cap;
      }
    if (f.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC) {
      mw_buf_t got;
      mw__buf_init(&got, 1 << 16);
      mw__wit_func_text(&got, f.of.component_func);
      if (!want || !got.data || strcmp(got.data, want) != 0) {
        char what[300];
        snprintf(what, sizeof what, "%.*s", (int)flen, fname);
        problem(probs, "import '%.*s' function '%s' does not match the world",
                name, nlen, what);
      }
      mw__buf_free(&got);
    } else if (f.kind != WASMTIME_COMPONENT_ITEM_TYPE) {
      problem(probs, "import '%.*s' has an unexpected item%s", name, nlen,
              NULL);
    }
    wasmtime_component_item_delete(&f);
  }
}

/* Checks c against the world; fills c->caps and c->problems. */
static mw_error_t *check_world(mw_component_t *c) {
  const wasm_engine_t *eng = c->engine->wasm;
  wasmtime_component_type_t *ty = wasmtime_component_type(c->wc);
  mw_buf_t probs;
  mw__buf_init(&probs, 1 << 16);
  size_t n = wasmtime_component_type_import_count(ty, eng);
  for (size_t i = 0; i < n; i++) {
    const char *name;
    size_t nlen;
    wasmtime_component_item_t item;
    if (!wasmtime_component_type_import_nth(ty, eng, i, &name, &nlen, &item))
      continue;
    if (starts_with(name, nlen, "marie:node/")) {
      check_marie_import(eng, name, nlen, &item, &c->caps, &probs);
    } else {
      bool ok = false;
      for (size_t k = 0; k < sizeof wasi_packages / sizeof *wasi_packages; k++)
        if (starts_with(name, nlen, wasi_packages[k]) &&
            memmem(name, nlen, "@0.2.", 5))
          ok = true;
      if (!ok)
        problem(&probs,
                "import '%.*s' is not provided (only marie:node@1.0.0 and "
                "WASI 0.2 interfaces are)%s",
                name, nlen, NULL);
    }
    wasmtime_component_item_delete(&item);
  }
  wasmtime_component_item_t ex;
  if (!wasmtime_component_type_export_get(ty, eng, "execute", 7, &ex)) {
    problem(&probs, "no export 'execute'%.*s%s", "", 0, NULL);
  } else {
    mw_buf_t got;
    mw__buf_init(&got, 1 << 16);
    if (ex.kind != WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC ||
        !mw__wit_func_text(&got, ex.of.component_func) ||
        strcmp(got.data, execute_type) != 0)
      problem(&probs, "export 'execute' has the wrong type: %.*s%s",
              got.data ? got.data : "not a function",
              got.data ? got.len : 14, NULL);
    mw__buf_free(&got);
    wasmtime_component_item_delete(&ex);
  }
  wasmtime_component_type_delete(ty);
  if (probs.len) {
    c->problems = mw__buf_take(&probs, NULL);
    if (!c->problems) return mw__nomem();
    return NULL;
  }
  mw__buf_free(&probs);
  c->execute = wasmtime_component_get_export_index(c->wc, NULL, "execute", 7);
  if (!c->execute && !(c->problems = strdup("export 'execute' not found")))
    return mw__nomem();
  return NULL;
}

static mw_error_t *finish(mw_component_t *c, bool strict,
                          mw_component_t **out) {
  mw_error_t *err = check_world(c);
  if (!err && strict && c->problems)
    err = mw_error_new(MW_ERR_COMPONENT,
                       "component does not fit marie:node@1.0.0: %s",
                       c->problems);
  if (err) {
    mw_component_free(c);
    return err;
  }
  *out = c;
  return NULL;
}

static mw_component_t *alloc_component(mw_engine_t *e) {
  mw_component_t *c = calloc(1, sizeof *c);
  if (c) c->engine = e;
  return c;
}

static mw_error_t *serialize_to(const wasmtime_component_t *wc,
                                const char *path) {
  wasm_byte_vec_t bytes;
  wasmtime_error_t *werr = wasmtime_component_serialize(wc, &bytes);
  if (werr) return mw__from_wasmtime(MW_ERR_ENGINE, werr, "serializing");
  mw_error_t *err =
      mw__write_file_atomic(path, (const uint8_t *)bytes.data, bytes.size, 0600);
  wasm_byte_vec_delete(&bytes);
  return err;
}

/* An engine-cache entry is the serialized component with its SHA-256
 * beside it ("<entry>.sha256", util/file.h), checked before anything is
 * mapped: Wasmtime's deserialization trusts its input, so damaged native
 * code would run (and crash the process) instead of being compiled again,
 * and a mapped file truncated in place would fault. */
static wasmtime_component_t *cache_load(const mw_engine_t *e, const char *path) {
  char sum_path[4096], sha[65];
  uint8_t *bytes = NULL;
  size_t len = 0;
  wasmtime_component_t *wc = NULL;
  snprintf(sum_path, sizeof sum_path, "%s.sha256", path);
  if (mw__read_file_summed(path, sum_path, (size_t)1 << 31, &bytes, &len, sha)) {
    wasmtime_error_t *werr = wasmtime_component_deserialize(e->wasm, bytes, len, &wc);
    if (werr) wasmtime_error_delete(werr);
  }
  free(bytes);
  return wc;
}

/* Best effort: an entry that cannot be written is compiled again. */
static void cache_store(const wasmtime_component_t *wc, const char *path) {
  wasm_byte_vec_t bytes;
  wasmtime_error_t *werr = wasmtime_component_serialize(wc, &bytes);
  if (werr) {
    wasmtime_error_delete(werr);
    return;
  }
  char sum_path[4096], sha[65];
  snprintf(sum_path, sizeof sum_path, "%s.sha256", path);
  mw_sha256_hex((const uint8_t *)bytes.data, bytes.size, sha);
  mw_error_free(mw__write_file_summed(path, sum_path, (const uint8_t *)bytes.data,
                                      bytes.size, sha));
  wasm_byte_vec_delete(&bytes);
}

static char *cache_path(const mw_engine_t *e, const char *sha) {
  size_t n = strlen(e->cache_dir) + 64 + 32 + 16;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s-wasmtime-%s.cwasm", e->cache_dir, sha,
             WASMTIME_VERSION);
  return p;
}

static mw_error_t *compile(mw_engine_t *e, const uint8_t *wasm, size_t len,
                           bool strict, mw_component_t **out) {
  if (!e || !out || (!wasm && len))
    return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  mw_component_t *c = alloc_component(e);
  if (!c) return mw__nomem();
  mw_sha256_hex(wasm, len, c->sha256);
  char *cpath = e->cache_dir ? cache_path(e, c->sha256) : NULL;
  /* A cache entry we wrote ourselves; if it is stale or corrupt, fall back
   * to compiling (and overwrite it). */
  if (cpath && access(cpath, R_OK) == 0) c->wc = cache_load(e, cpath);
  if (!c->wc) {
    wasmtime_error_t *werr =
        wasmtime_component_new(e->wasm, wasm, len, &c->wc);
    if (werr) {
      free(cpath);
      mw_component_free(c);
      return mw__from_wasmtime(MW_ERR_COMPONENT, werr,
                               "not a valid WebAssembly component");
    }
    if (cpath) cache_store(c->wc, cpath);
  }
  free(cpath);
  return finish(c, strict, out);
}

mw_error_t *mw_component_new(mw_engine_t *e, const uint8_t *wasm, size_t len,
                             mw_component_t **out) {
  return compile(e, wasm, len, true, out);
}

static mw_error_t *load_file(mw_engine_t *e, const char *path, bool strict,
                             mw_component_t **out) {
  if (!e || !path || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  unsigned char magic[4] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return mw_error_new(MW_ERR_IO, "%s: %s", path, strerror(errno));
  size_t got = fread(magic, 1, 4, f);
  fclose(f);
  if (got == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0) {
    mw_component_t *c = alloc_component(e);
    if (!c) return mw__nomem();
    wasmtime_error_t *werr =
        wasmtime_component_deserialize_file(e->wasm, path, &c->wc);
    if (werr) {
      mw_component_free(c);
      mw_error_t *err =
          mw__from_wasmtime(MW_ERR_ARTIFACT, werr, "cannot load artifact");
      return mw__error_prefix(err, "%s (this build uses Wasmtime %s)", path,
                              WASMTIME_VERSION);
    }
    return finish(c, strict, out);
  }
  if (got < 4 || memcmp(magic, "\0asm", 4) != 0)
    return mw_error_new(MW_ERR_COMPONENT,
                        "%s: neither a WebAssembly component (.wasm) nor a "
                        "precompiled artifact (.cwasm)",
                        path);
  uint8_t *bytes;
  size_t len;
  mw_error_t *err = mw__read_file(path, (size_t)1 << 31, &bytes, &len);
  if (err) return err;
  err = compile(e, bytes, len, strict, out);
  free(bytes);
  return mw__error_prefix(err, "%s", path);
}

mw_error_t *mw_component_load_file(mw_engine_t *e, const char *path,
                                   mw_component_t **out) {
  return load_file(e, path, true, out);
}

mw_error_t *mw_component_inspect_file(mw_engine_t *e, const char *path,
                                      mw_component_t **out) {
  return load_file(e, path, false, out);
}

mw_error_t *mw_component_write_artifact(const mw_component_t *c,
                                        const char *path) {
  if (!c || !path) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  return mw__error_prefix(serialize_to(c->wc, path), "%s", path);
}

void mw_component_free(mw_component_t *c) {
  if (!c) return;
  if (c->execute) wasmtime_component_export_index_delete(c->execute);
  if (c->wc) wasmtime_component_delete(c->wc);
  free(c->problems);
  free(c);
}

unsigned mw_component_capabilities(const mw_component_t *c) {
  return c ? c->caps : 0;
}

const char *mw_component_problems(const mw_component_t *c) {
  return c ? c->problems : NULL;
}

const char *mw_component_sha256(const mw_component_t *c) {
  return c ? c->sha256 : "";
}

/* ---- description -------------------------------------------------------- */

static json_t *func_json(const char *name, size_t nlen,
                         const wasmtime_component_func_type_t *f) {
  mw_buf_t b;
  mw__buf_init(&b, 1 << 20);
  mw__wit_func_text(&b, f);
  json_t *o = json_pack("{s:s%, s:s}", "name", name, nlen, "type",
                        b.data ? b.data : "");
  mw__buf_free(&b);
  return o;
}

static json_t *item_json(const wasm_engine_t *eng, const char *name,
                         size_t nlen, const wasmtime_component_item_t *item) {
  if (item->kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC)
    return func_json(name, nlen, item->of.component_func);
  json_t *o = json_pack("{s:s%}", "name", name, nlen);
  if (item->kind != WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE) return o;
  json_t *fns = json_array();
  const wasmtime_component_instance_type_t *it = item->of.component_instance;
  size_t n = wasmtime_component_instance_type_export_count(it, eng);
  for (size_t j = 0; j < n; j++) {
    const char *fname;
    size_t flen;
    wasmtime_component_item_t f;
    if (!wasmtime_component_instance_type_export_nth(it, eng, j, &fname, &flen,
                                                     &f))
      continue;
    if (f.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC)
      json_array_append_new(fns, func_json(fname, flen, f.of.component_func));
    wasmtime_component_item_delete(&f);
  }
  json_object_set_new(o, "functions", fns);
  return o;
}

mw_error_t *mw_component_describe(const mw_component_t *c, char **out) {
  if (!c || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  const wasm_engine_t *eng = c->engine->wasm;
  wasmtime_component_type_t *ty = wasmtime_component_type(c->wc);
  json_t *imports = json_array(), *exports = json_array();
  for (int pass = 0; pass < 2; pass++) {
    size_t n = pass ? wasmtime_component_type_export_count(ty, eng)
                    : wasmtime_component_type_import_count(ty, eng);
    for (size_t i = 0; i < n; i++) {
      const char *name;
      size_t nlen;
      wasmtime_component_item_t item;
      bool ok = pass ? wasmtime_component_type_export_nth(ty, eng, i, &name,
                                                          &nlen, &item)
                     : wasmtime_component_type_import_nth(ty, eng, i, &name,
                                                          &nlen, &item);
      if (!ok) continue;
      json_array_append_new(pass ? exports : imports,
                            item_json(eng, name, nlen, &item));
      wasmtime_component_item_delete(&item);
    }
  }
  wasmtime_component_type_delete(ty);
  static const char *const cap_names[] = {"http", "secrets", "kv", "console",
                                          "events"};
  json_t *caps = json_array();
  for (int i = 0; i < 5; i++)
    if (c->caps & (1u << i)) json_array_append_new(caps, json_string(cap_names[i]));
  json_t *problems = json_array();
  if (c->problems) json_array_append_new(problems, json_string(c->problems));
  json_t *doc = json_pack("{s:b, s:o, s:o, s:o, s:o, s:s}", "fits_world",
                          c->problems == NULL, "problems", problems, "imports",
                          imports, "exports", exports, "capabilities", caps,
                          "sha256", c->sha256);
  *out = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
  json_decref(doc);
  return *out ? NULL : mw__nomem();
}
