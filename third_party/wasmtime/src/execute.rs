//! The typed call of a node's `execute` export.
//!
//! The C API's dynamic values lift a `list<u8>` into one value per byte, and
//! a response's size is only known after it has all been copied. Guest
//! items may share memory, so a small guest can describe a response far
//! larger than itself. The typed call here charges every list and string
//! against the execution's output caps *before* copying it, so the host
//! never copies more than the caps allow; it is also several times faster.
use std::cell::Cell;
use std::ffi::c_void;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Func, Lift, Lower};
use wasmtime::ValRaw;
use wasmtime::Result;
use wasmtime_c_api::{wasmtime_error_t, WasmtimeStoreContextMut};

/// What the response may still use: items and bytes, and which cap was hit
/// (1 items, 2 bytes). Per thread: a call runs on the caller's thread.
#[derive(Clone, Copy)]
struct Budget {
    items: u64,
    bytes: u64,
    exceeded: u8,
}

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget { items: 0, bytes: 0, exceeded: 0 }) };
}

fn charge(n: usize, items: bool) -> Result<()> {
    BUDGET.with(|cell| {
        let mut b = cell.get();
        let left = if items { &mut b.items } else { &mut b.bytes };
        if n as u64 > *left {
            b.exceeded = if items { 1 } else { 2 };
            cell.set(b);
            wasmtime::bail!("response exceeds the output limit");
        }
        *left -= n as u64;
        cell.set(b);
        Ok(())
    })
}

/// A type lifted like `$inner` (a string or a list, both a pointer and a
/// length in the canonical ABI), but only after its length has been charged
/// against the budget. For a list the length counts elements, for a string
/// code units (the high bit tags UTF-16 in the latin1+utf16 encoding).
macro_rules! charged {
    ($name:ident, $inner:ty, $items:expr) => {
        struct $name($inner);

        unsafe impl ComponentType for $name {
            type Lower = [ValRaw; 2];
            const ABI: CanonicalAbiInfo = <$inner as ComponentType>::ABI;
            fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
                <$inner as ComponentType>::typecheck(ty, types)
            }
        }

        unsafe impl Lift for $name {
            fn linear_lift_from_flat(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                src: &Self::Lower,
            ) -> Result<Self> {
                charge((src[1].get_u32() & 0x7fff_ffff) as usize, $items)?;
                Ok($name(<$inner as Lift>::linear_lift_from_flat(cx, ty, src)?))
            }
            fn linear_lift_from_memory(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                bytes: &[u8],
            ) -> Result<Self> {
                let len = u32::from_le_bytes(bytes[4..8].try_into()?);
                charge((len & 0x7fff_ffff) as usize, $items)?;
                Ok($name(<$inner as Lift>::linear_lift_from_memory(cx, ty, bytes)?))
            }
        }
    };
}

charged!(Text, String, false);
charged!(Bytes, Vec<u8>, false);
charged!(Items, Vec<OutItem>, true);

#[derive(ComponentType, Lower)]
#[component(record)]
struct Item {
    json: String,
    binary: Option<Vec<u8>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct OutItem {
    json: Text,
    binary: Option<Bytes>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
struct Env {
    vars: String,
}

#[derive(ComponentType, Lower)]
#[component(record)]
struct Context {
    #[component(name = "workflow-id")]
    workflow_id: String,
    #[component(name = "execution-id")]
    execution_id: String,
    #[component(name = "node-id")]
    node_id: String,
    #[component(name = "run-index")]
    run_index: u32,
}

#[derive(ComponentType, Lift)]
#[component(variant)]
enum Response {
    #[component(name = "ok")]
    Ok(Items),
    #[component(name = "err")]
    Err(Text),
}

/// One input item, borrowed from C.
#[repr(C)]
pub struct mw_call_item_t {
    json: *const u8,
    json_len: usize,
    binary: *const u8, // NULL: none
    binary_len: usize,
}

/// The arguments of `execute`, borrowed from C.
#[repr(C)]
pub struct mw_call_args_t {
    items: *const mw_call_item_t,
    n_items: usize,
    env: *const u8,
    env_len: usize,
    workflow_id: *const u8,
    workflow_id_len: usize,
    execution_id: *const u8,
    execution_id_len: usize,
    node_id: *const u8,
    node_id_len: usize,
    run_index: u32,
    max_output_items: u64,
    max_output_bytes: u64,
}

/// Receives the response. `item` returns false to stop (an output cap was
/// reached); `err` gets the guest's error message. Pointers are valid for
/// the duration of the callback only.
#[repr(C)]
pub struct mw_call_sink_t {
    ctx: *mut c_void,
    ok: extern "C" fn(ctx: *mut c_void, n_items: usize) -> bool,
    item: extern "C" fn(
        ctx: *mut c_void,
        json: *const u8,
        json_len: usize,
        binary: *const u8,
        binary_len: usize,
        has_binary: bool,
    ) -> bool,
    err: extern "C" fn(ctx: *mut c_void, msg: *const u8, len: usize),
}

unsafe fn text(p: *const u8, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let bytes = unsafe { std::slice::from_raw_parts(p, n) };
    // Valid text (the usual case) is checked by from_utf8, which is several
    // times faster than the lossy decoder; only invalid text takes that.
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Calls `func` (the component's `execute`) with `args` and hands the
/// response to `sink`. Returns an error for traps, for a component whose
/// `execute` does not have the world's type, and for a response over the
/// output caps; then `*exceeded` is 1 (items) or 2 (bytes), else 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mw__wt_call_execute(
    func: &Func,
    mut context: WasmtimeStoreContextMut<'_>,
    args: &mw_call_args_t,
    sink: &mw_call_sink_t,
    exceeded: &mut u8,
) -> Option<Box<wasmtime_error_t>> {
    *exceeded = 0;
    let typed = match func.typed::<(Vec<Item>, Env, Context), (Response,)>(&context) {
        Ok(t) => t,
        Err(e) => return Some(Box::new(wasmtime_error_t::from(e))),
    };
    let raw = if args.n_items == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(args.items, args.n_items) }
    };
    let items = raw
        .iter()
        .map(|it| Item {
            json: unsafe { text(it.json, it.json_len) },
            binary: if it.binary.is_null() {
                None
            } else if it.binary_len == 0 {
                Some(Vec::new())
            } else {
                Some(unsafe { std::slice::from_raw_parts(it.binary, it.binary_len) }.to_vec())
            },
        })
        .collect();
    let env = Env { vars: unsafe { text(args.env, args.env_len) } };
    let ctx = Context {
        workflow_id: unsafe { text(args.workflow_id, args.workflow_id_len) },
        execution_id: unsafe { text(args.execution_id, args.execution_id_len) },
        node_id: unsafe { text(args.node_id, args.node_id_len) },
        run_index: args.run_index,
    };
    BUDGET.with(|b| {
        b.set(Budget { items: args.max_output_items, bytes: args.max_output_bytes, exceeded: 0 })
    });
    let result = typed.call(&mut context, (items, env, ctx));
    *exceeded = BUDGET.with(|b| b.get().exceeded);
    match result {
        Ok((Response::Ok(Items(items)),)) => {
            if (sink.ok)(sink.ctx, items.len()) {
                for it in &items {
                    let (bp, bl, has) = match &it.binary {
                        Some(b) => (b.0.as_ptr(), b.0.len(), true),
                        None => (std::ptr::null(), 0, false),
                    };
                    if !(sink.item)(sink.ctx, it.json.0.as_ptr(), it.json.0.len(), bp, bl, has) {
                        break;
                    }
                }
            }
            None
        }
        Ok((Response::Err(Text(msg)),)) => {
            (sink.err)(sink.ctx, msg.as_ptr(), msg.len());
            None
        }
        Err(e) => Some(Box::new(wasmtime_error_t::from(e))),
    }
}
