/*
 * compiler.c - the compiler service (see marie_wasm/compiler.h): the cache
 * key, the sandboxed run of guest/<language>/compile.sh, and the mapping of
 * its exit status to errors.
 *
 * Every language's compile.sh has one contract: compile.sh USER_FILE
 * OUT.wasm WORKDIR; exit 0 wrote OUT, 1 means the user's code is wrong
 * (diagnostics "USER_FILE:LINE:COL: message" on stderr), 64 bad usage, 70
 * the toolchain failed. The driver writes the user's code as
 * /build/src/<its base name> (or node<ext>) in a fresh work dir mounted at
 * /build and rewrites that path to the caller's file name in diagnostics.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/compiler_int.h"
#include "compiler/sandbox.h"
#include "marie_wasm/storage.h"
#include "util/buf.h"
#include "util/error_int.h"
#include "util/file.h"

#ifndef MW_DEFAULT_GUEST_DIR
#define MW_DEFAULT_GUEST_DIR "/usr/share/marie-wasm/guest"
#endif

#define MAX_SOURCE_BYTES (1u << 20)
#define MAX_COMPONENT_BYTES (256u << 20)
#define MAX_TOOLCHAIN_ID 4096
#define N_LANG 6 /* indexed by mw_language_t */
/* Bump when the driver's contract with compile.sh changes: old cache
 * entries then stop matching. */
#define DRIVER_VERSION "marie-wasm-compile 1"

struct mw_compiler_config {
  char *guest_dir, *wit_dir, *toolchains_dir, *cache_dir;
  char *toolchain[N_LANG];
  bool cache_off;
  uint32_t timeout_ms;
  uint64_t max_memory;
};

struct mw_compiler {
  char *guest_dir, *wit_dir, *toolchains_dir, *cache_dir; /* cache_dir NULL: off */
  char *toolchain[N_LANG];
  uint32_t timeout_ms;
  uint64_t max_memory;
  char wit_sha[65];
  pthread_mutex_t lock; /* guards wrapper_sha */
  char wrapper_sha[N_LANG][65]; /* "" until first needed */
};

struct mw_compile_result {
  uint8_t *wasm;
  size_t len;
  char sha256[65], key[65];
  bool cached;
  uint64_t ms;
  char *warnings;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *str_printf(const char *fmt, const char *a, const char *b) {
  int n = snprintf(NULL, 0, fmt, a, b);
  char *s = n < 0 ? NULL : malloc((size_t)n + 1);
  if (s) snprintf(s, (size_t)n + 1, fmt, a, b);
  return s;
}

/* The root of per-user state. Root's toolchains go where the sandbox uid
 * (nobody) can read them; everybody else's sandbox runs as themselves. */
static char *default_root(bool toolchains) {
  const char *home = getenv("HOME");
  if (toolchains && getuid() == 0) return strdup("/opt/marie-wasm");
  return str_printf("%s%s", home && *home ? home : "/tmp", "/.cache/marie-wasm");
}

/* ---- configuration ------------------------------------------------------ */

mw_compiler_config_t *mw_compiler_config_new(void) {
  mw_compiler_config_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->timeout_ms = 300000;
  c->max_memory = 4ull << 30;
  return c;
}

void mw_compiler_config_free(mw_compiler_config_t *c) {
  if (!c) return;
  free(c->guest_dir);
  free(c->wit_dir);
  free(c->toolchains_dir);
  free(c->cache_dir);
  for (int i = 0; i < N_LANG; i++) free(c->toolchain[i]);
  free(c);
}

static mw_error_t *set_str(char **slot, const char *value) {
  char *copy = NULL;
  if (value && !(copy = strdup(value))) return mw__nomem();
  free(*slot);
  *slot = copy;
  return NULL;
}

mw_error_t *mw_compiler_config_guest_dir(mw_compiler_config_t *c, const char *d) {
  if (!c || !d) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  return set_str(&c->guest_dir, d);
}

mw_error_t *mw_compiler_config_wit_dir(mw_compiler_config_t *c, const char *d) {
  if (!c || !d) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  return set_str(&c->wit_dir, d);
}

mw_error_t *mw_compiler_config_toolchains_dir(mw_compiler_config_t *c,
                                              const char *d) {
  if (!c || !d) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  return set_str(&c->toolchains_dir, d);
}

mw_error_t *mw_compiler_config_toolchain(mw_compiler_config_t *c,
                                         mw_language_t lang, const char *d) {
  if (!c || !d) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  const mw__language_info_t *li = mw__language_info(lang);
  if (!li) return mw_error_new(MW_ERR_INPUT, "unknown language %d", (int)lang);
  /* TypeScript and JavaScript share one toolchain. */
  mw_error_t *err = set_str(&c->toolchain[lang], d);
  if (!err && lang == MW_LANG_JAVASCRIPT) err = set_str(&c->toolchain[MW_LANG_TYPESCRIPT], d);
  if (!err && lang == MW_LANG_TYPESCRIPT) err = set_str(&c->toolchain[MW_LANG_JAVASCRIPT], d);
  return err;
}

mw_error_t *mw_compiler_config_cache_dir(mw_compiler_config_t *c, const char *d) {
  if (!c) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  c->cache_off = d == NULL;
  return set_str(&c->cache_dir, d);
}

void mw_compiler_config_timeout_ms(mw_compiler_config_t *c, uint32_t ms) {
  if (c) c->timeout_ms = ms < 1000 ? 1000 : ms;
}

void mw_compiler_config_max_memory(mw_compiler_config_t *c, uint64_t bytes) {
  if (c) c->max_memory = bytes < (64u << 20) ? (64u << 20) : bytes;
}

/* ---- hashing ------------------------------------------------------------ */

static void hex(const unsigned char *md, char out[65]) {
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feeds dir's regular files (names and contents, sorted, recursively) to
 * md; skips dot files and build output. */
static mw_error_t *hash_tree(EVP_MD_CTX *md, const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (!d) return mw_error_new(MW_ERR_IO, "%s: %s", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  mw_error_t *err = NULL;
  struct dirent *e;
  while (!err && (e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules") ||
        !strcmp(e->d_name, "target"))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) err = mw__nomem();
      else names = nn;
    }
    if (!err && !(names[n++] = strdup(e->d_name))) err = mw__nomem(), n--;
  }
  closedir(d);
  if (!err) qsort(names, n, sizeof *names, name_cmp);
  for (size_t i = 0; !err && i < n; i++) {
    char path[4096], relpath[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(relpath, sizeof relpath, "%s%s%s", rel, *rel ? "/" : "", names[i]);
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      err = hash_tree(md, path, relpath);
    } else if (S_ISREG(st.st_mode)) {
      uint8_t *data = NULL;
      size_t len = 0;
      if (!(err = mw__read_file(path, 64u << 20, &data, &len))) {
        char head[64];
        int hl = snprintf(head, sizeof head, "\n%zu:", strlen(relpath));
        EVP_DigestUpdate(md, head, (size_t)hl);
        EVP_DigestUpdate(md, relpath, strlen(relpath));
        hl = snprintf(head, sizeof head, "\n%zu:", len);
        EVP_DigestUpdate(md, head, (size_t)hl);
        EVP_DigestUpdate(md, data, len);
      }
      free(data);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return err;
}

static mw_error_t *tree_sha256(const char *dir, char out[65]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) return mw__nomem();
  unsigned char digest[32];
  unsigned int dl = 0;
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  mw_error_t *err = hash_tree(md, dir, "");
  EVP_DigestFinal_ex(md, digest, &dl);
  EVP_MD_CTX_free(md);
  if (!err) hex(digest, out);
  return err;
}

/* One field of the key: "name=<length>:<bytes>\n", so no two different
 * field sets hash the same. */
static void key_field(EVP_MD_CTX *md, const char *name, const void *v, size_t len) {
  char head[96];
  int hl = snprintf(head, sizeof head, "%s=%zu:", name, len);
  EVP_DigestUpdate(md, head, (size_t)hl);
  EVP_DigestUpdate(md, v, len);
  EVP_DigestUpdate(md, "\n", 1);
}

/* ---- the compiler ------------------------------------------------------- */

static bool is_dir(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

mw_error_t *mw_compiler_new(const mw_compiler_config_t *cfg, mw_compiler_t **out) {
  if (!out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  mw_compiler_config_t *defaults = NULL;
  if (!cfg && !(cfg = defaults = mw_compiler_config_new())) return mw__nomem();
  mw_compiler_t *c = calloc(1, sizeof *c);
  mw_error_t *err = NULL;
  if (!c) {
    mw_compiler_config_free(defaults);
    return mw__nomem();
  }
  pthread_mutex_init(&c->lock, NULL);
  c->timeout_ms = cfg->timeout_ms;
  c->max_memory = cfg->max_memory;

  const char *env_guest = getenv("MW_GUEST_DIR");
  const char *env_tc = getenv("MW_TOOLCHAINS_DIR");
  const char *env_cache = getenv("MW_COMPILE_CACHE_DIR");
  c->guest_dir = strdup(cfg->guest_dir ? cfg->guest_dir
                        : env_guest && *env_guest ? env_guest
                                                  : MW_DEFAULT_GUEST_DIR);
  c->wit_dir = cfg->wit_dir ? strdup(cfg->wit_dir)
               : c->guest_dir ? str_printf("%s%s", c->guest_dir, "/../wit")
                              : NULL;
  if (cfg->toolchains_dir) c->toolchains_dir = strdup(cfg->toolchains_dir);
  else if (env_tc && *env_tc) c->toolchains_dir = strdup(env_tc);
  else {
    char *root = default_root(true);
    c->toolchains_dir = root ? str_printf("%s%s", root, "/toolchains") : NULL;
    free(root);
  }
  if (cfg->cache_dir) c->cache_dir = strdup(cfg->cache_dir);
  else if (!cfg->cache_off && env_cache && *env_cache) c->cache_dir = strdup(env_cache);
  else if (!cfg->cache_off) {
    char *root = default_root(false);
    c->cache_dir = root ? str_printf("%s%s", root, "/compile-cache") : NULL;
    if (!c->cache_dir) err = mw__nomem();
    free(root);
  }
  if (!c->guest_dir || !c->wit_dir || !c->toolchains_dir) err = mw__nomem();
  for (int i = 0; !err && i < N_LANG; i++) {
    const mw__language_info_t *li = mw__language_info((mw_language_t)i);
    if (!li) continue;
    const char *env = getenv(li->toolchain_env);
    if (cfg->toolchain[i]) c->toolchain[i] = strdup(cfg->toolchain[i]);
    else if (env && *env) c->toolchain[i] = strdup(env);
    else c->toolchain[i] = str_printf("%s/%s", c->toolchains_dir, li->toolchain_subdir);
    if (!c->toolchain[i]) err = mw__nomem();
  }
  if (!err && !is_dir(c->guest_dir))
    err = mw_error_new(MW_ERR_INPUT, "compiler: guest dir %s not found (set MW_GUEST_DIR)",
                       c->guest_dir);
  if (!err) {
    char wit[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(wit, sizeof wit, "%s/marie-node.wit", c->wit_dir);
    if ((err = mw__read_file(wit, 1u << 20, &data, &len)))
      err = mw__error_prefix(err, "compiler: WIT world");
    else mw_sha256_hex(data, len, c->wit_sha);
    free(data);
  }
  if (!err && access("/usr/bin/bwrap", X_OK) != 0)
    err = mw_error_new(MW_ERR_BACKEND,
                       "compiler: /usr/bin/bwrap not found (install bubblewrap): "
                       "compiles only run sandboxed");
  if (!err && c->cache_dir) err = mw__make_dirs(c->cache_dir, 0700);
  mw_compiler_config_free(defaults);
  if (err) {
    mw_compiler_free(c);
    return err;
  }
  *out = c;
  return NULL;
}

void mw_compiler_free(mw_compiler_t *c) {
  if (!c) return;
  free(c->guest_dir);
  free(c->wit_dir);
  free(c->toolchains_dir);
  free(c->cache_dir);
  for (int i = 0; i < N_LANG; i++) free(c->toolchain[i]);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* The toolchain's identity: its .toolchain-id, written by the language's
 * install-toolchain.sh (versions and lock-file hashes). */
static mw_error_t *toolchain_id(const mw__language_info_t *li, const char *dir,
                                uint8_t **id, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/.toolchain-id", dir);
  mw_error_t *err = mw__read_file(path, MAX_TOOLCHAIN_ID, id, len);
  if (!err) return NULL;
  mw_error_free(err);
  return mw_error_new(MW_ERR_BACKEND,
                      "the %s toolchain is not installed in %s (run "
                      "guest/%s/install-toolchain.sh, or set %s)",
                      li->name, dir, li->guest_subdir, li->toolchain_env);
}

static mw_error_t *wrapper_sha(mw_compiler_t *c, const mw__language_info_t *li,
                               char out[65]) {
  mw_error_t *err = NULL;
  pthread_mutex_lock(&c->lock);
  if (!c->wrapper_sha[li->lang][0]) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", c->guest_dir, li->guest_subdir);
    err = tree_sha256(dir, c->wrapper_sha[li->lang]);
  }
  if (!err) memcpy(out, c->wrapper_sha[li->lang], 65);
  pthread_mutex_unlock(&c->lock);
  return err;
}

/* s with every occurrence of from replaced by to (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to) {
  mw_buf_t b;
  mw__buf_init(&b, SIZE_MAX);
  size_t fl = strlen(from);
  for (const char *p = s; *p;) {
    const char *hit = strstr(p, from);
    if (!hit) {
      mw__buf_append(&b, p, strlen(p));
      break;
    }
    mw__buf_append(&b, p, (size_t)(hit - p));
    mw__buf_append(&b, to, strlen(to));
    p = hit + fl;
  }
  size_t len;
  return mw__buf_take(&b, &len);
}

/* Trims trailing whitespace in place. */
static void rtrim(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = '\0';
}

static void progress(mw_compile_progress_fn fn, void *ud, const char *stage,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void progress(mw_compile_progress_fn fn, void *ud, const char *stage,
                     const char *fmt, ...) {
  if (!fn) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fn(ud, stage, msg);
}

/* file_name's last component when it is a plain name with the language's
 * extension ([A-Za-z0-9_-] and dots, at most 100 bytes), else node<ext>. */
static void user_base_name(const char *file_name, const mw__language_info_t *li,
                           char *out, size_t n) {
  const char *b = strrchr(file_name, '/');
  b = b ? b + 1 : file_name;
  size_t bl = strlen(b), el = strlen(li->ext);
  bool plain = bl > el && bl <= 100 && b[0] != '.' && !strcmp(b + bl - el, li->ext);
  if (li->lang == MW_LANG_JAVASCRIPT && bl > 4 && bl <= 100 && !strcmp(b + bl - 4, ".mjs"))
    plain = b[0] != '.';
  for (const char *p = b; plain && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
      plain = false;
  if (plain) snprintf(out, n, "%s", b);
  else snprintf(out, n, "node%s", li->ext);
}

/* Runs compile.sh in the sandbox; on success *wasm holds the component. */
static mw_error_t *run_toolchain(mw_compiler_t *c, const mw__language_info_t *li,
                                 const char *code, size_t len,
                                 const char *file_name, const char *base, uint8_t **wasm,
                                 size_t *wasm_len, char **warnings) {
  char work[] = "/tmp/mw-compile-XXXXXX";
  char path[4096], script[4096], user_file[160], env_tc[4200];
  mw_sandbox_result_t res = {0};
  mw_error_t *err = NULL;
  if (!mkdtemp(work))
    return mw_error_new(MW_ERR_IO, "compiler: cannot create a work dir: %s",
                        strerror(errno));
  snprintf(user_file, sizeof user_file, "/build/src/%s", base);
  snprintf(path, sizeof path, "%s/src", work);
  if (mkdir(path, 0755) != 0) {
    err = mw_error_new(MW_ERR_IO, "compiler: %s: %s", path, strerror(errno));
    goto out;
  }
  snprintf(path, sizeof path, "%s/src/%s", work, base);
  if ((err = mw__write_file_atomic(path, (const uint8_t *)code, len, 0644))) goto out;
  snprintf(path, sizeof path, "%s/home", work);
  if (mkdir(path, 0755) != 0) {
    err = mw_error_new(MW_ERR_IO, "compiler: %s: %s", path, strerror(errno));
    goto out;
  }
  if (getuid() == 0 && chown(path, 65534, 65534) != 0) {
    err = mw_error_new(MW_ERR_IO, "compiler: %s: %s", path, strerror(errno));
    goto out;
  }
  /* The wrapper and the WIT are copied in, so the sandbox sees them
   * wherever they are installed (the checkout may be in a home the sandbox
   * uid cannot read) and a build cannot change them for the next one. */
  char from[4096];
  snprintf(path, sizeof path, "%s/guest", work);
  if (mkdir(path, 0755) != 0) {
    err = mw_error_new(MW_ERR_IO, "compiler: %s: %s", path, strerror(errno));
    goto out;
  }
  snprintf(from, sizeof from, "%s/toolchains.sh", c->guest_dir);
  snprintf(path, sizeof path, "%s/guest/toolchains.sh", work);
  if (access(from, R_OK) == 0) {
    uint8_t *data = NULL;
    size_t dlen = 0;
    if (!(err = mw__read_file(from, 1u << 20, &data, &dlen)))
      err = mw__write_file_atomic(path, data, dlen, 0644);
    free(data);
  }
  snprintf(from, sizeof from, "%s/%s", c->guest_dir, li->guest_subdir);
  snprintf(path, sizeof path, "%s/guest/%s", work, li->guest_subdir);
  if (!err) err = mw__copy_tree(from, path);
  snprintf(path, sizeof path, "%s/wit", work);
  if (!err) err = mw__copy_tree(c->wit_dir, path);
  if (err) {
    err = mw__error_prefix(err, "compiler: staging the %s wrapper", li->name);
    goto out;
  }
  snprintf(script, sizeof script, "/build/guest/%s/compile.sh", li->guest_subdir);
  snprintf(env_tc, sizeof env_tc, "%s=%s", li->toolchain_env, c->toolchain[li->lang]);
  const char *argv[] = {"/bin/bash", script, user_file, "/build/out.wasm", "/build/work",
                        NULL};
  const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/build/home",
                       "TMPDIR=/tmp", "LANG=C.UTF-8", env_tc, "MW_WIT_DIR=/build/wit",
                       NULL};
  const char *binds[] = {c->toolchain[li->lang], NULL};
  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  spec.argv = argv;
  spec.env = env;
  spec.workdir = work;
  spec.ro_binds = binds;
  spec.timeout_ms = c->timeout_ms;
  /* Compilers run several processes; RLIMIT_CPU is per process. */
  spec.cpu_seconds = c->timeout_ms / 1000 * 2;
  spec.max_memory_bytes = c->max_memory;
  spec.max_file_bytes = 1ull << 30;
  if ((err = mw__sandbox_bwrap.run(&spec, &res))) goto out;

  rtrim(res.err);
  char *diag = replace_all(res.err, user_file, file_name);
  if (!diag) {
    err = mw__nomem();
    goto out;
  }
  if (res.timed_out) {
    err = mw_error_new(MW_ERR_LIMIT, "%s: compiling took longer than the %u s limit",
                       file_name, c->timeout_ms / 1000);
  } else if (res.signal) {
    err = mw_error_new(MW_ERR_LIMIT,
                       "%s: the %s toolchain was killed by signal %d (%s): a CPU, "
                       "memory or file size limit of the sandbox%s%s",
                       file_name, li->name, res.signal, strsignal(res.signal),
                       *diag ? "\n" : "", diag);
  } else if (res.exit_code == 1) {
    err = mw_error_new(MW_ERR_COMPILE, "%s",
                       *diag ? diag : "the code does not compile (no diagnostics)");
  } else if (res.exit_code == MW_SANDBOX_EXIT_SETUP) {
    err = mw_error_new(MW_ERR_BACKEND, "compile sandbox: %s", diag);
  } else if (res.exit_code != 0) {
    err = mw_error_new(MW_ERR_BACKEND, "the %s toolchain failed (exit %d)%s%s", li->name,
                       res.exit_code, *diag ? ":\n" : "", diag);
  } else {
    snprintf(path, sizeof path, "%s/out.wasm", work);
    err = mw__read_file(path, MAX_COMPONENT_BYTES, wasm, wasm_len);
    static const uint8_t component_magic[8] = {0, 'a', 's', 'm', 0x0d, 0, 0x01, 0};
    if (!err && (*wasm_len < 8 || memcmp(*wasm, component_magic, 8) != 0)) {
      err = mw_error_new(MW_ERR_BACKEND,
                         "the %s toolchain wrote something that is not a component",
                         li->name);
      free(*wasm);
      *wasm = NULL;
    }
    if (err) err = mw__error_prefix(err, "compiler");
    else *warnings = diag, diag = NULL;
  }
  free(diag);
out:
  mw__sandbox_result_free(&res);
  mw_error_t *rm = mw__remove_tree(work);
  if (rm && !err) err = rm;
  else mw_error_free(rm);
  return err;
}

mw_error_t *mw_compile(mw_compiler_t *c, mw_language_t lang, const char *code,
                       size_t len, const char *file_name,
                       mw_compile_progress_fn prog, void *ud,
                       mw_compile_result_t **out) {
  if (!c || !code || !out) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  *out = NULL;
  uint64_t start = now_ms();
  const mw__language_info_t *li = mw__language_info(lang);
  if (!li) return mw_error_new(MW_ERR_INPUT, "unknown language %d", (int)lang);
  char default_name[32];
  snprintf(default_name, sizeof default_name, "node%s", li->ext);
  if (!file_name || !*file_name) file_name = default_name;
  if (len == 0) return mw_error_new(MW_ERR_INPUT, "%s: the source is empty", file_name);
  if (len > MAX_SOURCE_BYTES)
    return mw_error_new(MW_ERR_INPUT, "%s: the source is %zu bytes, more than %u",
                        file_name, len, MAX_SOURCE_BYTES);

  /* The user's file keeps its base name where it is a plain one: some
   * toolchains put it into the component (Python tracebacks), so it is
   * part of the key. */
  char base[112];
  user_base_name(file_name, li, base, sizeof base);
  uint8_t *id = NULL;
  size_t id_len = 0;
  char wsha[65];
  mw_error_t *err = toolchain_id(li, c->toolchain[lang], &id, &id_len);
  if (!err) err = wrapper_sha(c, li, wsha);
  if (err) {
    free(id);
    return err;
  }
  mw_compile_result_t *r = calloc(1, sizeof *r);
  if (!r) {
    free(id);
    return mw__nomem();
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) {
    free(id);
    free(r);
    return mw__nomem();
  }
  unsigned char digest[32];
  unsigned int dl = 0;
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  key_field(md, "driver", DRIVER_VERSION, strlen(DRIVER_VERSION));
  key_field(md, "language", li->name, strlen(li->name));
  key_field(md, "toolchain", id, id_len);
  key_field(md, "wrapper", wsha, 64);
  key_field(md, "wit", c->wit_sha, 64);
  key_field(md, "file", base, strlen(base));
  key_field(md, "code", code, len);
  EVP_DigestFinal_ex(md, digest, &dl);
  EVP_MD_CTX_free(md);
  free(id);
  hex(digest, r->key);

  int lock_fd = -1;
  if (c->cache_dir) {
    if (mw__cache_get(c->cache_dir, r->key, &r->wasm, &r->len, r->sha256)) goto hit;
    /* Whoever holds the lock compiles; the others wait, then hit. */
    if ((err = mw__cache_lock(c->cache_dir, r->key, &lock_fd))) goto fail;
    if (mw__cache_get(c->cache_dir, r->key, &r->wasm, &r->len, r->sha256)) goto hit;
  }
  progress(prog, ud, "compile", "compiling %s (%s) in the sandbox", file_name, li->name);
  err = run_toolchain(c, li, code, len, file_name, base, &r->wasm, &r->len, &r->warnings);
  if (err) goto fail;
  mw_sha256_hex(r->wasm, r->len, r->sha256);
  if (c->cache_dir) {
    mw_error_t *cerr = mw__cache_put(c->cache_dir, r->key, r->wasm, r->len, r->sha256);
    /* A cache that cannot be written costs only time next run. */
    if (cerr) progress(prog, ud, "cache", "%s", mw_error_message(cerr));
    mw_error_free(cerr);
  }
  mw__cache_unlock(lock_fd);
  r->ms = now_ms() - start;
  progress(prog, ud, "done", "compiled %s in %.1f s: %zu bytes", file_name,
           (double)r->ms / 1000.0, r->len);
  *out = r;
  return NULL;

hit:
  mw__cache_unlock(lock_fd);
  r->cached = true;
  r->ms = now_ms() - start;
  progress(prog, ud, "cache", "cache hit for %s (%.12s)", file_name, r->key);
  *out = r;
  return NULL;

fail:
  mw__cache_unlock(lock_fd);
  mw_compile_result_free(r);
  return err;
}

const uint8_t *mw_compile_result_wasm(const mw_compile_result_t *r, size_t *len) {
  if (len) *len = r ? r->len : 0;
  return r ? r->wasm : NULL;
}
const char *mw_compile_result_sha256(const mw_compile_result_t *r) {
  return r ? r->sha256 : "";
}
const char *mw_compile_result_key(const mw_compile_result_t *r) {
  return r ? r->key : "";
}
bool mw_compile_result_cached(const mw_compile_result_t *r) { return r && r->cached; }
uint64_t mw_compile_result_ms(const mw_compile_result_t *r) { return r ? r->ms : 0; }
const char *mw_compile_result_warnings(const mw_compile_result_t *r) {
  return r && r->warnings ? r->warnings : "";
}

void mw_compile_result_free(mw_compile_result_t *r) {
  if (!r) return;
  free(r->wasm);
  free(r->warnings);
  free(r);
}
