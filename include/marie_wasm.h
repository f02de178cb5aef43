/*
 * marie_wasm.h - the public C API of libmariewasm.
 *
 * libmariewasm runs WebAssembly components written for the WIT world
 * `marie:node@1.0.0` (wit/marie-node.wit) on Wasmtime, with hard limits and
 * deny-by-default permissions. Include this one header; each concept has its
 * own file under marie_wasm/.
 *
 * Ownership, for every mw_ function: a function that returns a pointer
 * through an out_* parameter gives ownership of it to the caller, who frees it
 * with the matching mw_*_free; every other pointer argument is borrowed for
 * the duration of the call only, unless the comment says otherwise.
 * mw_*_free(NULL) is a no-op everywhere.
 */
#ifndef MARIE_WASM_H
#define MARIE_WASM_H

#include "marie_wasm/error.h"
#include "marie_wasm/engine.h"
#include "marie_wasm/component.h"
#include "marie_wasm/permissions.h"
#include "marie_wasm/host.h"
#include "marie_wasm/execute.h"
#include "marie_wasm/runner.h"
#include "marie_wasm/storage.h"
#include "marie_wasm/compiler.h"

#endif
