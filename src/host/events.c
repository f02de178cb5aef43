/*
 * events.c - marie:node/events: events emitted by the guest, always allowed
 * and capped per execution (permissions' max_events). Payloads are kept as
 * text whether or not they are JSON.
 */
#include "host/host_int.h"
#include "host/val.h"

static wasmtime_error_t *events_emit(void *env, wasmtime_context_t *ctx,
                                     const wasmtime_component_func_type_t *ty,
                                     wasmtime_component_val_t *args,
                                     size_t nargs,
                                     wasmtime_component_val_t *results,
                                     size_t nresults) {
  (void)env, (void)ty, (void)results;
  mw_exec_t *ex = mw__host_call(ctx);
  const char *type, *payload;
  size_t tlen, plen;
  if (nargs != 2 || nresults != 0 || !mw__get_string(&args[0], &type, &tlen) ||
      !mw__get_string(&args[1], &payload, &plen))
    return mw__bad_args("events.emit");
  mw__exec_event(ex, type, tlen, payload, plen);
  return NULL;
}

mw_error_t *mw__define_events(wasmtime_component_linker_t *linker) {
  static const mw_host_func_t funcs[] = {{"emit", events_emit}};
  return mw__define_interface(linker, "marie:node/events@1.0.0", funcs, 1);
}
