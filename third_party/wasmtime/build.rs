//! Copies the C headers installed by `wasmtime-c-api-impl` (including the
//! generated `wasmtime/conf.h`, which records the enabled features) next to the
//! static library, so the C build finds both in one place:
//! `<target-dir>/<profile>/include`.
use std::path::{Path, PathBuf};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create include dir");
    for entry in std::fs::read_dir(from).expect("read include dir") {
        let entry = entry.expect("dir entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy header");
        }
    }
}

fn main() {
    let include = std::env::var("DEP_WASMTIME_C_API_INCLUDE")
        .expect("wasmtime-c-api-impl did not report its include directory");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target-dir>/<profile>/build/<pkg>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).expect("unexpected OUT_DIR layout");
    copy_tree(Path::new(&include), &profile_dir.join("include"));
    println!("cargo:rerun-if-changed=build.rs");
}
