#!/usr/bin/env bash
# Prepares the toolchain for Rust nodes in MW_RUST_TOOLCHAIN: everything a
# compile needs that can be made ahead of time, so that compile.sh only
# runs rustc on the user's file (offline, nothing else rebuilt) and
# `wasm-tools component new`.
#
#   sysroot/lib/rustlib/wasm32-wasip1/lib/   std for wasm32-wasip1, built
#                       once from Debian's rust-web-src (rustup's std for
#                       wasm targets cannot be fetched here)
#   vendor/             the marie crate's dependencies (`cargo vendor`,
#                       pinned by marie/Cargo.lock), so builds run offline
#   src/marie/          the marie crate as built, with the WIT it was built for
#   lib/wasm/           marie and its dependencies for wasm32-wasip1 (rlibs)
#   lib/host/           the proc-macro crates they use (serde_derive, ...)
#   bin/wasm-tools, wasi_snapshot_preview1.reactor.wasm
#                       copies of the pinned wasm-tools and WASI adapter
#                       (from scripts/install-guest-tools.sh)
#   wit.sha256          the WIT the bindings in lib/wasm were generated from
#   .toolchain-id       one line naming all of the above; it changes when
#                       any of it changes (the compile cache keys on it)
#
# Needs Debian's rustc-web, cargo-web and rust-web-src (Rust 1.96), lld-19
# (wasm-ld-19), wasi-libc and binaryen (wasm-opt), installed with apt-get
# when run as root. The
# registry is used once, by `cargo vendor`; everything after that is
# offline.
#
# Idempotent: when the toolchain matches its inputs this is a quick no-op
# that prints one line. Otherwise the parts whose inputs changed are
# rebuilt in place (std takes ~50 s, marie and its dependencies ~50 s on
# 2 idle cores); .toolchain-id is removed first and written last, so an
# unfinished toolchain is never taken for a finished one.
#
# Environment:
#   MW_RUST_TOOLCHAIN  the toolchain dir (default: rust/ under the
#                      toolchains root, see ../toolchains.sh;
#                      $HOME/.cache/marie-wasm/rust-toolchain without it)
#   MW_TOOLS_DIR       where scripts/install-guest-tools.sh put wasm-tools
#                      and the adapter (default $HOME/.cache/marie-wasm/tools)
#   MW_WIT_DIR         directory of marie-node.wit (default: ../../wit from here)
#   MW_CARGO_JOBS      parallel jobs for cargo (default 2)
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/../.." && pwd)"
if [ -f "${SCRIPT_DIR}/../toolchains.sh" ]; then
    # shellcheck source=../toolchains.sh
    . "${SCRIPT_DIR}/../toolchains.sh"
    TOOLCHAIN_DIR="${MW_RUST_TOOLCHAIN:-$(mw_toolchains_root)/rust}"
else
    TOOLCHAIN_DIR="${MW_RUST_TOOLCHAIN:-${HOME}/.cache/marie-wasm/rust-toolchain}"
fi
TOOLS_DIR="${MW_TOOLS_DIR:-${HOME}/.cache/marie-wasm/tools}"
WIT_DIR="${MW_WIT_DIR:-${REPO_DIR}/wit}"
JOBS="${MW_CARGO_JOBS:-2}"

DEB_PACKAGES=(rustc-web cargo-web rust-web-src clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
    binaryen)
RUSTC=/usr/bin/rustc          # Debian's rustc-web: the rustup toolchain on
CARGO=/usr/bin/cargo          # PATH (if any) has no std for wasm targets
TARGET=wasm32-wasip1
LINKER=wasm-ld-19
WASI_LIBC_DIR=/usr/lib/wasm32-wasi
# How std is built (part of its identity: change it and std is rebuilt).
# opt-level "z" and the optimize_for_size feature keep std's share of a
# node small; bitcode is embedded so that compile.sh can use fat LTO.
STD_BUILD_STD="std,panic_abort"
STD_FEATURES="optimize_for_size"
STD_OPT_LEVEL="z"
STD_RUSTFLAGS="-Cembed-bitcode=yes"

WASM_TOOLS="${TOOLS_DIR}/bin/wasm-tools"
ADAPTER="${TOOLS_DIR}/wasi_snapshot_preview1.reactor.wasm"
CRATE_DIR="${SCRIPT_DIR}/marie"
BUILD_DIR="${TOOLCHAIN_DIR}/.build"
SYSROOT="${TOOLCHAIN_DIR}/sysroot"
STD_LIB_DIR="${SYSROOT}/lib/rustlib/${TARGET}/lib"

say() { printf 'install-rust-toolchain: %s\n' "$*"; }
die() { printf 'install-rust-toolchain: error: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line ${LINENO}: ${BASH_COMMAND}"' ERR

short_sum() { cat -- "$@" | sha256sum | cut -c1-16; }

# Cargo and rustc without whatever the caller's environment would add.
clean_env() {
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u RUSTC_WRAPPER \
        -u RUSTC_WORKSPACE_WRAPPER -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET -u RUSTUP_TOOLCHAIN \
        -u CARGO_INCREMENTAL -u CARGO_PROFILE_RELEASE_LTO -u CARGO_PROFILE_RELEASE_OPT_LEVEL \
        RUSTC="${RUSTC}" RUSTDOC=/usr/bin/rustdoc "$@"
}

debs_missing() {
    local pkg
    command -v dpkg-query >/dev/null || return 0
    for pkg in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'install ok installed' \
            || printf '%s\n' "${pkg}"
    done
}

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

install_debian_packages() {
    local missing
    mapfile -t missing < <(debs_missing)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        die "missing Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})"
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The library sources of rust-web-src that belong to ${RUSTC}.
rust_library_dir() {
    printf '%s/lib/rustlib/src/rust/library\n' "$("${RUSTC}" --print sysroot)"
}

# The identity of std: compiler, its sources, wasi-libc and the settings.
std_id() {
    printf '%s; rust-src %s; wasi-libc %s; build-std %s; features %s; opt %s; flags %s\n' \
        "$("${RUSTC}" -V)" "$(deb_version rust-web-src)" "$(deb_version wasi-libc)" \
        "${STD_BUILD_STD}" "${STD_FEATURES}" "${STD_OPT_LEVEL}" "${STD_RUSTFLAGS}"
}

# The identity of lib/: std, the crate, its lock file and the WIT.
libs_id() {
    printf '%s; lock %s; marie %s; wit %s\n' "$(std_id)" \
        "$(short_sum "${CRATE_DIR}/Cargo.lock")" \
        "$(cd "${CRATE_DIR}" && find Cargo.toml src -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)" \
        "$(short_sum "${WIT_DIR}/marie-node.wit")"
}

# The line written to .toolchain-id.
toolchain_id() {
    printf '%s; lock %s; libs %s; %s; %s; adapter %s; wit %s\n' \
        "$("${RUSTC}" -V)" "$(short_sum "${CRATE_DIR}/Cargo.lock")" \
        "$(libs_id | sha256sum | cut -c1-16)" "$("${WASM_TOOLS}" --version)" "$(wasm-opt --version)" \
        "$(short_sum "${ADAPTER}")" "$(short_sum "${WIT_DIR}/marie-node.wit")"
}

toolchain_complete() {
    local f
    for f in .toolchain-id wit.sha256 bin/wasm-tools wasi_snapshot_preview1.reactor.wasm \
        lib/wasm/libmarie.rlib sysroot/.std-id lib/.libs-id; do
        [ -e "${TOOLCHAIN_DIR}/${f}" ] || return 1
    done
    compgen -G "${STD_LIB_DIR}/libstd-*.rlib" >/dev/null
}

[ -f "${WIT_DIR}/marie-node.wit" ] || die "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"
WIT_DIR="$(cd "${WIT_DIR}" && pwd)"
[ -f "${CRATE_DIR}/Cargo.lock" ] || die "${CRATE_DIR}/Cargo.lock not found"

# ---- the quick path: nothing changed -----------------------------------------

if [ -z "$(debs_missing)" ] && [ -x "${WASM_TOOLS}" ] && [ -f "${ADAPTER}" ] && toolchain_complete \
    && [ "$(cat "${TOOLCHAIN_DIR}/.toolchain-id")" = "$(toolchain_id)" ]; then
    say "present in ${TOOLCHAIN_DIR}: $(cat "${TOOLCHAIN_DIR}/.toolchain-id")"
    exit 0
fi

# ---- prerequisites -------------------------------------------------------------

install_debian_packages
[ -x "${RUSTC}" ] && [ -x "${CARGO}" ] || die "${RUSTC} or ${CARGO} missing (Debian: rustc-web cargo-web)"
command -v "${LINKER}" >/dev/null || die "${LINKER} not found (Debian: lld-19)"
command -v wasm-opt >/dev/null || die "wasm-opt not found (Debian: binaryen)"
[ -f "${WASI_LIBC_DIR}/libc.a" ] || die "${WASI_LIBC_DIR}/libc.a not found (Debian: wasi-libc)"
LIBRARY_DIR="$(rust_library_dir)"
[ -f "${LIBRARY_DIR}/Cargo.lock" ] && [ -d "${LIBRARY_DIR}/vendor" ] \
    || die "${LIBRARY_DIR} has no Cargo.lock or vendor/ (Debian: rust-web-src matching $("${RUSTC}" -V))"
if [ ! -x "${WASM_TOOLS}" ] || [ ! -f "${ADAPTER}" ]; then
    [ -x "${REPO_DIR}/scripts/install-guest-tools.sh" ] \
        || die "${WASM_TOOLS} or ${ADAPTER} missing (run scripts/install-guest-tools.sh)"
    say "wasm-tools or the WASI adapter missing: running scripts/install-guest-tools.sh (takes minutes)"
    MW_TOOLS_DIR="${TOOLS_DIR}" "${REPO_DIR}/scripts/install-guest-tools.sh"
fi

say "preparing ${TOOLCHAIN_DIR} ($("${RUSTC}" -V))"
mkdir -p "${TOOLCHAIN_DIR}" "${BUILD_DIR}"
rm -f -- "${TOOLCHAIN_DIR}/.toolchain-id"
# Cargo's own files for the offline builds; the caller's are used only by
# `cargo vendor`.
CALLER_CARGO_HOME="${CARGO_HOME:-}"
export CARGO_HOME="${BUILD_DIR}/cargo-home"
mkdir -p "${CARGO_HOME}"

# ---- std for wasm32-wasip1 ---------------------------------------------------

build_std() {
    local crate="${BUILD_DIR}/std" start=${SECONDS}
    say "building std for ${TARGET} from ${LIBRARY_DIR} (once; ~1 min)"
    rm -rf -- "${crate}" "${SYSROOT}"
    mkdir -p "${crate}/src"
    # An empty crate: -Zbuild-std builds std (and what it needs) for it.
    cat >"${crate}/Cargo.toml" <<EOF
[package]
name = "marie-std"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "src/lib.rs"

[profile.release]
opt-level = "${STD_OPT_LEVEL}"
panic = "abort"
debug = false
EOF
    : >"${crate}/src/lib.rs"
    # std's dependencies come from rust-web-src's library/vendor; the std
    # sources' paths are recorded as /rustc/library (panic locations).
    (
        cd "${crate}"
        clean_env RUSTC_BOOTSTRAP=1 \
            CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="${STD_RUSTFLAGS} --remap-path-prefix=${LIBRARY_DIR}=/rustc/library" \
            "${CARGO}" build --release --offline --quiet -j "${JOBS}" --target "${TARGET}" \
            -Zbuild-std="${STD_BUILD_STD}" ${STD_FEATURES:+-Zbuild-std-features="${STD_FEATURES}"} \
            --config 'source.crates-io.replace-with="rust-src-vendor"' \
            --config "source.rust-src-vendor.directory=\"${LIBRARY_DIR}/vendor\""
    ) || die "building std failed"
    mkdir -p "${STD_LIB_DIR}"
    find "${crate}/target/${TARGET}/release/deps" -name '*.rlib' ! -name 'libmarie_std-*' \
        -exec cp -- {} "${STD_LIB_DIR}/" \;
    rm -rf -- "${crate}"
    std_id >"${SYSROOT}/.std-id"
    say "std built in $((SECONDS - start)) s ($(du -sh "${STD_LIB_DIR}" | cut -f1))"
}

if [ "$(cat "${SYSROOT}/.std-id" 2>/dev/null)" != "$(std_id)" ] \
    || ! compgen -G "${STD_LIB_DIR}/libstd-*.rlib" >/dev/null; then
    build_std
else
    say "std for ${TARGET} present"
fi

# ---- vendored dependencies ------------------------------------------------------

lock_sum="$(short_sum "${CRATE_DIR}/Cargo.lock")"
if [ "$(cat "${TOOLCHAIN_DIR}/vendor/.marie-lock" 2>/dev/null)" != "${lock_sum}" ]; then
    say "vendoring the marie crate's dependencies (cargo vendor, from the registry)"
    rm -rf -- "${TOOLCHAIN_DIR}/vendor"
    # The caller's CARGO_HOME (registry cache and configuration) for this
    # one step that uses the network.
    (
        if [ -n "${CALLER_CARGO_HOME}" ]; then export CARGO_HOME="${CALLER_CARGO_HOME}"; else unset CARGO_HOME; fi
        cd "${CRATE_DIR}"
        clean_env "${CARGO}" vendor --locked --quiet --versioned-dirs "${TOOLCHAIN_DIR}/vendor" >/dev/null
    ) || die "cargo vendor failed"
    printf '%s\n' "${lock_sum}" >"${TOOLCHAIN_DIR}/vendor/.marie-lock"
else
    say "vendored dependencies present"
fi

# ---- marie and its dependencies --------------------------------------------------

build_libs() {
    local src="${TOOLCHAIN_DIR}/src/marie" target="${BUILD_DIR}/target" start=${SECONDS}
    say "building the marie crate and its dependencies for ${TARGET} (~1 min)"
    rm -rf -- "${TOOLCHAIN_DIR}/src" "${TOOLCHAIN_DIR}/lib" "${target}"
    mkdir -p "${src}/wit" "${TOOLCHAIN_DIR}/lib/wasm" "${TOOLCHAIN_DIR}/lib/host"
    cp -r -- "${CRATE_DIR}/Cargo.toml" "${CRATE_DIR}/Cargo.lock" "${CRATE_DIR}/src" "${src}/"
    cp -- "${WIT_DIR}/marie-node.wit" "${src}/wit/"
    # Bitcode is embedded for compile.sh's fat LTO; source paths are
    # recorded relative to the toolchain (panic locations, reproducible
    # output wherever the toolchain is).
    (
        cd "${src}"
        clean_env CARGO_TARGET_DIR="${target}" \
            CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="--sysroot ${SYSROOT} -Cembed-bitcode=yes --remap-path-prefix=${TOOLCHAIN_DIR}=/toolchain" \
            "${CARGO}" build --release --locked --offline --quiet -j "${JOBS}" --target "${TARGET}" \
            --config 'source.crates-io.replace-with="marie-vendor"' \
            --config "source.marie-vendor.directory=\"${TOOLCHAIN_DIR}/vendor\"" \
            --config 'profile.release.opt-level="z"' --config 'profile.release.panic="abort"'
    ) || die "building the marie crate failed"
    cp -- "${target}/${TARGET}/release/deps/"*.rlib "${TOOLCHAIN_DIR}/lib/wasm/"
    cp -- "${target}/${TARGET}/release/libmarie.rlib" "${TOOLCHAIN_DIR}/lib/wasm/"
    cp -- "${target}/release/deps/"*.so "${TOOLCHAIN_DIR}/lib/host/"
    rm -rf -- "${target}"
    libs_id >"${TOOLCHAIN_DIR}/lib/.libs-id"
    sha256sum "${WIT_DIR}/marie-node.wit" | cut -d' ' -f1 >"${TOOLCHAIN_DIR}/wit.sha256"
    say "marie built in $((SECONDS - start)) s"
}

if [ "$(cat "${TOOLCHAIN_DIR}/lib/.libs-id" 2>/dev/null)" != "$(libs_id)" ] \
    || [ ! -f "${TOOLCHAIN_DIR}/lib/wasm/libmarie.rlib" ]; then
    build_libs
else
    say "marie crate present"
fi

# ---- wasm-tools and the adapter ---------------------------------------------------

mkdir -p "${TOOLCHAIN_DIR}/bin"
cp -- "${WASM_TOOLS}" "${TOOLCHAIN_DIR}/bin/wasm-tools.tmp"
mv -f -- "${TOOLCHAIN_DIR}/bin/wasm-tools.tmp" "${TOOLCHAIN_DIR}/bin/wasm-tools"
cp -- "${ADAPTER}" "${TOOLCHAIN_DIR}/wasi_snapshot_preview1.reactor.wasm"
rm -rf -- "${BUILD_DIR}"

# ---- a test node, then publish ------------------------------------------------------

say "compiling a test node"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/marie-rust-check.XXXXXX")"
cat >"${tmp}/hello.rs" <<'EOF'
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<Item>, String> {
    Ok(input_items)
}
EOF
start=${SECONDS}
if ! MW_RUST_TOOLCHAIN="${TOOLCHAIN_DIR}" MW_WIT_DIR="${WIT_DIR}" MW_TOOLS_DIR= \
    "${SCRIPT_DIR}/compile.sh" "${tmp}/hello.rs" "${tmp}/hello.wasm" "${tmp}/work" >"${tmp}/log" 2>&1; then
    cat "${tmp}/log" >&2
    rm -rf -- "${tmp}"
    die "compiling a test node failed"
fi
say "test node: $(stat -c %s "${tmp}/hello.wasm") bytes in $((SECONDS - start)) s"
rm -rf -- "${tmp}"

ID="$(toolchain_id)"
if declare -F mw_toolchain_publish >/dev/null; then
    mw_toolchain_publish "${TOOLCHAIN_DIR}" "${ID}"
else
    chmod -R a+rX -- "${TOOLCHAIN_DIR}"
    printf '%s\n' "${ID}" >"${TOOLCHAIN_DIR}/.toolchain-id.tmp"
    chmod 644 "${TOOLCHAIN_DIR}/.toolchain-id.tmp"
    mv -f -- "${TOOLCHAIN_DIR}/.toolchain-id.tmp" "${TOOLCHAIN_DIR}/.toolchain-id"
fi
say "installed in ${TOOLCHAIN_DIR}: ${ID}"
