//! Store limiter with accounting. The C API's `wasmtime_store_limiter` only
//! installs Wasmtime's `StoreLimits`, which cannot tell afterwards whether it
//! refused a grow. This one counts every linear memory of the store together
//! (a node's budget, not a per-memory one) and writes what happened into a
//! C-owned struct.
use wasmtime_c_api::wasmtime::{ResourceLimiter, Result, Store};
use wasmtime_c_api::{wasmtime_store_t, WasmtimeStoreData};

/// Shared with C (`src/runtime/limiter.h`); the C side owns it and must keep
/// it alive, at a fixed address, for as long as the store lives.
#[repr(C)]
pub struct mw_limiter_t {
    /// Limits; a negative value means unlimited.
    pub memory_bytes: i64,
    pub table_elements: i64,
    pub instances: i64,
    pub tables: i64,
    pub memories: i64,
    /// Accounting, written by Wasmtime's callbacks.
    pub memory_current: u64,
    pub memory_peak: u64,
    pub memory_refused: u8,
    pub table_refused: u8,
}

struct LimiterPtr(*mut mw_limiter_t);

// The pointer is only dereferenced on the thread that drives the store.
unsafe impl Send for LimiterPtr {}
unsafe impl Sync for LimiterPtr {}

impl LimiterPtr {
    // A method, so that closures capture the whole Send wrapper rather than
    // its raw-pointer field.
    fn get(&self) -> &'static mut mw_limiter_t {
        unsafe { &mut *self.0 }
    }
}

fn within(limit: i64, value: usize) -> bool {
    limit < 0 || (value as u64) <= limit as u64
}

impl ResourceLimiter for mw_limiter_t {
    fn memory_growing(&mut self, current: usize, desired: usize, _max: Option<usize>) -> Result<bool> {
        let l = self;
        let total = l.memory_current.saturating_sub(current as u64).saturating_add(desired as u64);
        if !within(l.memory_bytes, total as usize) {
            l.memory_refused = 1;
            return Ok(false);
        }
        l.memory_current = total;
        if total > l.memory_peak {
            l.memory_peak = total;
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> Result<bool> {
        let l = self;
        if !within(l.table_elements, desired) {
            l.table_refused = 1;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        limit_or_max(self.instances)
    }
    fn tables(&self) -> usize {
        limit_or_max(self.tables)
    }
    fn memories(&self) -> usize {
        limit_or_max(self.memories)
    }
}

fn limit_or_max(v: i64) -> usize {
    if v < 0 { usize::MAX } else { v as usize }
}

/// Installs `limiter` on `store`. `wasmtime_store_t` is a `#[repr(C)]`
/// wrapper whose only field is the `Store`, so the cast is exact for the
/// pinned Wasmtime version (tests cover it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mw__wt_store_set_limiter(
    store: *mut wasmtime_store_t,
    limiter: *mut mw_limiter_t,
) {
    let store = unsafe { &mut *(store as *mut Store<WasmtimeStoreData>) };
    let p = LimiterPtr(limiter);
    store.limiter(move |_| p.get());
}
