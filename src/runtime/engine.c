/*
 * engine.c - the engine: Wasmtime configured for untrusted guests, the
 * component linker shared by every execution, and the epoch ticker.
 *
 * Everything here happens once per process; executions only create a store.
 * Timeouts use epoch interruption: one thread per engine bumps the epoch
 * every tick and each store sets its deadline in ticks, so no thread is
 * started per call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/runtime_int.h"
#include "util/error_int.h"

#define MW_VERSION_STRING "0.1.0"

const char *mw_version(void) { return MW_VERSION_STRING; }
const char *mw_wasmtime_version(void) { return WASMTIME_VERSION; }

uint64_t mw__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *mw__wasmtime_message(const wasmtime_error_t *werr) {
  wasm_name_t msg;
  wasmtime_error_message(werr, &msg);
  char *s = strndup(msg.data ? msg.data : "", msg.size);
  wasm_byte_vec_delete(&msg);
  return s;
}

mw_error_t *mw__from_wasmtime(mw_status_t status, wasmtime_error_t *werr,
                              const char *what) {
  char *msg = mw__wasmtime_message(werr);
  wasmtime_error_delete(werr);
  mw_error_t *e = mw_error_new(status, "%s: %s", what, msg ? msg : "?");
  free(msg);
  return e;
}

/* ---- configuration ------------------------------------------------------ */

mw_engine_config_t *mw_engine_config_new(void) {
  mw_engine_config_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->pooling = true;
  c->pool_instances = 64;
  c->pool_table_elements = 20000;
  c->max_memory_mb = 512;
  c->tick_ms = 2;
  c->max_wasm_stack = 512 * 1024;
  return c;
}

void mw_engine_config_free(mw_engine_config_t *c) {
  if (!c) return;
  free(c->cache_dir);
  free(c);
}

mw_error_t *mw_engine_config_cache_dir(mw_engine_config_t *c,
                                       const char *dir) {
  if (!c) return mw_error_new(MW_ERR_MISUSE, "NULL config");
  char *d = NULL;
  if (dir && !(d = strdup(dir))) return mw__nomem();
  free(c->cache_dir);
  c->cache_dir = d;
  return NULL;
}

void mw_engine_config_pooling(mw_engine_config_t *c, bool on) {
  if (c) c->pooling = on;
}
void mw_engine_config_pool_instances(mw_engine_config_t *c, uint32_t n) {
  if (c && n) c->pool_instances = n;
}
void mw_engine_config_pool_table_elements(mw_engine_config_t *c, uint32_t n) {
  if (c && n) c->pool_table_elements = n;
}
void mw_engine_config_max_memory_mb(mw_engine_config_t *c, uint32_t mb) {
  if (c && mb) c->max_memory_mb = mb;
}
void mw_engine_config_tick_ms(mw_engine_config_t *c, uint32_t ms) {
  if (c && ms) c->tick_ms = ms;
}
void mw_engine_config_max_wasm_stack(mw_engine_config_t *c, uint64_t bytes) {
  if (c && bytes) c->max_wasm_stack = bytes;
}

/* ---- engine ------------------------------------------------------------- */

/* Bytes of each pool memory and table slot reset with memset (see below). */
#define KEEP_RESIDENT_BYTES ((size_t)1 << 20)

/* Pool sizes per component instance. A component built with the WASI
 * adapter has a handful of core instances (main module, adapter, shims),
 * two memories and a few tables. Table slots are reset at every
 * instantiation, so their size is a per-execution cost (100k elements cost
 * ~20 us per execution against 20k; see docs/PERFORMANCE.md). */
static void configure_pool(wasm_config_t *wc, const mw_engine_config_t *c) {
  wasmtime_pooling_allocation_config_t *pc =
      wasmtime_pooling_allocation_config_new();
  uint32_t n = c->pool_instances;
  wasmtime_pooling_allocation_config_total_component_instances_set(pc, n);
  wasmtime_pooling_allocation_config_total_core_instances_set(pc, n * 16);
  wasmtime_pooling_allocation_config_total_memories_set(pc, n * 4);
  wasmtime_pooling_allocation_config_total_tables_set(pc, n * 16);
  wasmtime_pooling_allocation_config_max_core_instances_per_component_set(
      pc, 32);
  wasmtime_pooling_allocation_config_max_memories_per_component_set(pc, 8);
  wasmtime_pooling_allocation_config_max_tables_per_component_set(pc, 32);
  /* A module may define tables of its own beside the indirect-call table
   * (the default allows one). */
  wasmtime_pooling_allocation_config_max_tables_per_module_set(pc, 4);
  wasmtime_pooling_allocation_config_max_memory_size_set(
      pc, (size_t)c->max_memory_mb << 20);
  wasmtime_pooling_allocation_config_table_elements_set(pc,
                                                        c->pool_table_elements);
  wasmtime_pooling_allocation_config_max_core_instance_size_set(pc, 1 << 20);
  wasmtime_pooling_allocation_config_max_component_instance_size_set(pc,
                                                                     1 << 20);
  /* Reset the first MiB of each memory and table slot with memset instead
   * of madvise: unmapping pages in a threaded process costs a TLB
   * shootdown on every core, which made 2 threads slower than one
   * (see docs/PERFORMANCE.md, "keep resident"). Slots are still zeroed. */
  wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(
      pc, KEEP_RESIDENT_BYTES);
  wasmtime_pooling_allocation_config_table_keep_resident_set(
      pc, KEEP_RESIDENT_BYTES);
  wasmtime_pooling_allocation_strategy_set(wc, pc);
  wasmtime_pooling_allocation_config_delete(pc);
}

static wasm_config_t *make_config(const mw_engine_config_t *c, bool pooling) {
  wasm_config_t *wc = wasm_config_new();
  if (!wc) return NULL;
  wasmtime_config_wasm_component_model_set(wc, true);
  wasmtime_config_consume_fuel_set(wc, true);
  wasmtime_config_epoch_interruption_set(wc, true);
  wasmtime_config_max_wasm_stack_set(wc, (size_t)c->max_wasm_stack);
  wasmtime_config_cranelift_opt_level_set(wc, WASMTIME_OPT_LEVEL_SPEED);
  wasmtime_config_parallel_compilation_set(wc, true);
  wasmtime_config_memory_init_cow_set(wc, true);
  if (pooling) configure_pool(wc, c);
  return wc;
}

/* One epoch tick every tick_ms. A late wake-up (a loaded machine) adds
 * one tick, not the missed ones: catching up in a burst would end runs
 * that started during the stall before their time, so under load a
 * timeout may run long but never short. */
static void *ticker_main(void *arg) {
  mw_engine_t *e = arg;
  pthread_mutex_lock(&e->ticker_lock);
  while (!e->ticker_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)e->tick_ms * 1000000ull;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    int rc = pthread_cond_timedwait(&e->ticker_cond, &e->ticker_lock, &ts);
    if (rc == ETIMEDOUT && !e->ticker_stop)
      wasmtime_engine_increment_epoch(e->wasm);
  }
  pthread_mutex_unlock(&e->ticker_lock);
  return NULL;
}

static mw_error_t *make_dir(const char *dir) {
  if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return NULL;
  }
  return mw_error_new(MW_ERR_IO, "cache dir '%s': %s", dir, strerror(errno));
}

mw_error_t *mw_engine_new(const mw_engine_config_t *cfg, mw_engine_t **out) {
  if (!out) return mw_error_new(MW_ERR_MISUSE, "NULL out_engine");
  *out = NULL;
  mw_engine_config_t *own_cfg = NULL;
  if (!cfg && !(cfg = own_cfg = mw_engine_config_new())) return mw__nomem();
  mw_error_t *err = NULL;
  mw_engine_t *e = calloc(1, sizeof *e);
  if (!e) {
    err = mw__nomem();
    goto out;
  }
  e->tick_ms = cfg->tick_ms;
  if (cfg->cache_dir) {
    if ((err = make_dir(cfg->cache_dir))) goto out;
    if (!(e->cache_dir = strdup(cfg->cache_dir))) {
      err = mw__nomem();
      goto out;
    }
  }
  /* The pool reserves address space up front; where the host refuses (a
   * small RLIMIT_AS, some sanitizers), fall back to on-demand allocation. */
  e->pooling = cfg->pooling;
  wasmtime_error_t *werr = NULL;
  for (;;) {
    wasm_config_t *wc = make_config(cfg, e->pooling);
    if (!wc) {
      err = mw__nomem();
      goto out;
    }
    werr = mw__wt_engine_new(wc, &e->wasm);
    if (!werr) break;
    if (!e->pooling) {
      err = mw__from_wasmtime(MW_ERR_ENGINE, werr, "creating the engine");
      goto out;
    }
    wasmtime_error_delete(werr);
    e->pooling = false;
  }
  if (e->pooling) {
    e->pool_memory_bytes = (uint64_t)cfg->max_memory_mb << 20;
    e->pool_table_elements = cfg->pool_table_elements;
  }
  e->linker = wasmtime_component_linker_new(e->wasm);
  werr = wasmtime_component_linker_add_wasip2(e->linker);
  if (werr) {
    err = mw__from_wasmtime(MW_ERR_ENGINE, werr, "linking WASI");
    goto out;
  }
  if ((err = mw__define_host_interfaces(e->linker))) goto out;
  pthread_mutex_init(&e->ticker_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->ticker_cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&e->ticker, NULL, ticker_main, e) != 0) {
    pthread_cond_destroy(&e->ticker_cond);
    pthread_mutex_destroy(&e->ticker_lock);
    err = mw_error_new(MW_ERR_ENGINE, "could not start the epoch ticker");
    goto out;
  }
  *out = e;
  e = NULL;
out:
  if (e) {
    if (e->linker) wasmtime_component_linker_delete(e->linker);
    if (e->wasm) wasm_engine_delete(e->wasm);
    free(e->cache_dir);
    free(e);
  }
  mw_engine_config_free(own_cfg);
  return err;
}

void mw_engine_free(mw_engine_t *e) {
  if (!e) return;
  pthread_mutex_lock(&e->ticker_lock);
  e->ticker_stop = true;
  pthread_cond_signal(&e->ticker_cond);
  pthread_mutex_unlock(&e->ticker_lock);
  pthread_join(e->ticker, NULL);
  pthread_cond_destroy(&e->ticker_cond);
  pthread_mutex_destroy(&e->ticker_lock);
  wasmtime_component_linker_delete(e->linker);
  wasm_engine_delete(e->wasm);
  free(e->cache_dir);
  free(e);
}
