//! Trap codes for component calls. `wasmtime_component_func_call` reports a
//! trap as a plain `wasmtime_error_t`, and the C API can read a trap code
//! only from a `wasm_trap_t`; this reads it from the error.
use wasmtime_c_api::wasmtime::{Error, Trap};
use wasmtime_c_api::wasmtime_error_t;

/// Sets `*code` to the `wasmtime_trap_code_t` of `err` and returns true when
/// `err` is (or wraps) a Wasmtime trap. `wasmtime_error_t` is a `#[repr(C)]`
/// wrapper whose only field is the `Error`, so the cast is exact for the
/// pinned Wasmtime version.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mw__wt_error_trap_code(err: *const wasmtime_error_t, code: *mut u8) -> bool {
    let err = unsafe { &*(err as *const Error) };
    match err.downcast_ref::<Trap>() {
        Some(trap) => {
            unsafe { *code = *trap as u8 };
            true
        }
        None => false,
    }
}
