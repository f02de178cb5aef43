//! Fallible engine creation. `wasm_engine_new_with_config` unwraps
//! `Engine::new`, so a configuration the host cannot satisfy (a pooling
//! allocator larger than RLIMIT_AS allows) would abort the process; this
//! returns the error instead.
use wasmtime_c_api::wasmtime::{Config, Engine};
use wasmtime_c_api::{wasm_config_t, wasm_engine_t, wasmtime_error_t};

/// Consumes `config`. On success writes an engine that `wasm_engine_delete`
/// frees. `wasm_config_t` and `wasm_engine_t` are `#[repr(C)]` wrappers
/// whose only field is the `Config` / `Engine`, so the casts are exact for
/// the pinned Wasmtime version.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mw__wt_engine_new(
    config: Box<wasm_config_t>,
    out: &mut *mut wasm_engine_t,
) -> Option<Box<wasmtime_error_t>> {
    let config = unsafe { Box::from_raw(Box::into_raw(config) as *mut Config) };
    match Engine::new(&config) {
        Ok(engine) => {
            *out = Box::into_raw(Box::new(engine)) as *mut wasm_engine_t;
            None
        }
        Err(e) => Some(Box::new(wasmtime_error_t::from(e))),
    }
}
