//! Usage: mw-wasi-adapter OUT.wasm
//! Writes the reactor adapter embedded in the pinned provider crate to OUT.wasm.

use std::{env, fs, process::ExitCode};

use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: {} OUT.wasm", args.first().map_or("mw-wasi-adapter", |s| s));
        return ExitCode::from(2);
    }
    // Write to a temporary name and rename, so an interrupted run never
    // leaves a truncated adapter that later builds would silently use.
    let tmp = format!("{}.tmp", args[1]);
    if let Err(e) = fs::write(&tmp, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .and_then(|()| fs::rename(&tmp, &args[1]))
    {
        eprintln!("mw-wasi-adapter: cannot write {}: {e}", args[1]);
        let _ = fs::remove_file(&tmp);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
