//! Re-exports the Wasmtime C API so that its `#[no_mangle]` symbols end up in
//! this crate's static library, plus the few shims libmariewasm needs that the
//! C API does not offer. Every shim is listed here; keep them tiny.
//!
//! - `mw__wt_store_set_limiter`: a store limiter that records what it
//!   refused and the peak linear memory, so a refused `memory.grow` can be
//!   reported as a `memory_limit` trap instead of a generic guest failure.
//! - `mw__wt_error_trap_code`: the trap code of a component call's
//!   error, which the C API only offers for core-wasm traps.
//! - `mw__wt_call_execute`: the typed call of a node's `execute`
//!   export (bounded, copy-once lifting of the response).
//! - `mw__wt_engine_new`: engine creation that returns an error where
//!   the C API would abort (e.g. a pooling allocator the host cannot map).
pub use wasmtime_c_api::*;

mod engine;
mod execute;
mod limiter;
mod trap;
