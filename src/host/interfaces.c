/*
 * interfaces.c - shared plumbing of the host interfaces: definition in the
 * linker, reaching the execution from a call, and recording denials.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host/host_int.h"
#include "util/error_int.h"

mw_error_t *mw__define_interface(wasmtime_component_linker_t *linker,
                                 const char *iface,
                                 const mw_host_func_t *funcs, size_t n) {
  wasmtime_component_linker_instance_t *root =
      wasmtime_component_linker_root(linker);
  wasmtime_component_linker_instance_t *inst = NULL;
  wasmtime_error_t *werr = wasmtime_component_linker_instance_add_instance(
      root, iface, strlen(iface), &inst);
  for (size_t i = 0; !werr && i < n; i++)
    werr = wasmtime_component_linker_instance_add_func(
        inst, funcs[i].name, strlen(funcs[i].name), funcs[i].fn, NULL, NULL);
  if (inst) wasmtime_component_linker_instance_delete(inst);
  wasmtime_component_linker_instance_delete(root);
  return werr ? mw__from_wasmtime(MW_ERR_ENGINE, werr, iface) : NULL;
}

mw_error_t *mw__define_host_interfaces(wasmtime_component_linker_t *linker) {
  mw_error_t *err;
  if ((err = mw__define_console(linker))) return err;
  if ((err = mw__define_events(linker))) return err;
  if ((err = mw__define_secrets(linker))) return err;
  if ((err = mw__define_kv(linker))) return err;
  return mw__define_http(linker);
}

mw_exec_t *mw__host_call(wasmtime_context_t *ctx) {
  mw_exec_t *ex = wasmtime_context_get_data(ctx);
  ex->result->stats.host_calls++;
  return ex;
}

void mw__host_denied(mw_exec_t *ex, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  ex->result->stats.denied_calls++;
  mw__exec_log(ex, MW_LOG_WARN, MW_LOG_HOST, msg, (size_t)n);
}

wasmtime_error_t *mw__bad_args(const char *func) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: arguments do not match marie:node@1.0.0",
           func);
  return wasmtime_error_new(msg);
}
