/*
 * console.c - marie:node/console: log lines from the guest, always allowed
 * and capped per execution (permissions' max_log_bytes).
 */
#include <string.h>

#include "host/host_int.h"
#include "host/val.h"

static wasmtime_error_t *console_log(void *env, wasmtime_context_t *ctx,
                                     const wasmtime_component_func_type_t *ty,
                                     wasmtime_component_val_t *args,
                                     size_t nargs,
                                     wasmtime_component_val_t *results,
                                     size_t nresults) {
  (void)env, (void)ty, (void)results;
  mw_exec_t *ex = mw__host_call(ctx);
  const char *msg;
  size_t len;
  if (nargs != 2 || nresults != 0 || args[0].kind != WASMTIME_COMPONENT_ENUM ||
      !mw__get_string(&args[1], &msg, &len))
    return mw__bad_args("console.log");
  mw_log_level_t level = MW_LOG_INFO;
  const wasm_name_t *e = &args[0].of.enumeration;
  mw__log_level_parse(e->data, e->size, &level);
  mw__exec_log(ex, level, MW_LOG_CONSOLE, msg, len);
  return NULL;
}

mw_error_t *mw__define_console(wasmtime_component_linker_t *linker) {
  static const mw_host_func_t funcs[] = {{"log", console_log}};
  return mw__define_interface(linker, "marie:node/console@1.0.0", funcs, 1);
}
