/*
 * test_util.h - shared set-up for the C tests: one engine per test process,
 * test components by name, and one-call executions.
 */
#ifndef MW_TEST_UTIL_H
#define MW_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "marie_wasm.h"

/* Fails the test with the error's message when expr returns an error. */
#define TU_OK(expr)                                                 \
  do {                                                              \
    mw_error_t *tu_err_ = (expr);                                   \
    if (tu_err_) {                                                  \
      fail_msg("%s: %s", #expr, mw_error_message(tu_err_));         \
    }                                                               \
  } while (0)

/* The directory holding the test components (MW_TEST_COMPONENTS). */
const char *tu_dir(void);
/* "<dir>/<name>.wasm" in a static buffer. */
const char *tu_path(const char *name);
/* The process's engine (created on first use, freed at exit). */
mw_engine_t *tu_engine(void);
/* A loaded component; fails the test when it does not load. Cached per
 * process; do not free. */
mw_component_t *tu_component(const char *name);

/* Runs component `name` with the items (JSON array text, NULL for none),
 * env (NULL for ""), permissions (JSON text, NULL for defaults) and host
 * (NULL for none). Fails the test on an API error. */
mw_result_t *tu_run(const char *name, const char *items, const char *env,
                    const char *perms, const mw_host_t *host);

/* Runs the `host` component with one command per element of cmds. */
mw_result_t *tu_host_cmds(const char *const *cmds, size_t n,
                          const char *perms, const mw_host_t *host);

/* The result as JSON (MW_JSON_STATS|LOGS|EVENTS); caller frees. */
char *tu_json(const mw_result_t *r);

/* Item i's json text, or fails. */
const char *tu_item(const mw_result_t *r, size_t i);

#endif
