#!/usr/bin/env bash
# Installs the toolchain that builds the C test guest components
# (tests/components/): clang + wasi-libc from Debian, wit-bindgen and
# wasm-tools from the Rust crate registry, and the WASI preview1 -> component
# adapter that matches the embedded Wasmtime release.
#
# Idempotent: a second run only checks versions and prints one line per tool.
# Everything cargo builds goes under $HOME/.cache/marie-wasm (outside the
# checkout) so that CI re-runs are fast.
#
# Environment:
#   MW_TOOLS_DIR     install root (default $HOME/.cache/marie-wasm/tools);
#                    binaries land in $MW_TOOLS_DIR/bin, the adapter in
#                    $MW_TOOLS_DIR/wasi_snapshot_preview1.reactor.wasm
#   MW_CARGO_JOBS    parallel jobs for cargo (default 2)
set -Eeuo pipefail

# Exact pins: the bindings' C ABI and the component encoding change between
# releases, and the adapter must match Wasmtime (third_party/wasmtime).
WIT_BINDGEN_VERSION=0.63.0
WASM_TOOLS_VERSION=1.263.0
DEB_PACKAGES=(clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)

CACHE_DIR="${HOME}/.cache/marie-wasm"
MW_TOOLS_DIR="${MW_TOOLS_DIR:-${CACHE_DIR}/tools}"
MW_CARGO_JOBS="${MW_CARGO_JOBS:-2}"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADAPTER_OUT="${MW_TOOLS_DIR}/wasi_snapshot_preview1.reactor.wasm"

say() { printf 'install-guest-tools: %s\n' "$*"; }
die() { printf 'install-guest-tools: error: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line ${LINENO}: ${BASH_COMMAND}"' ERR

install_debian_packages() {
    local missing=() pkg
    for pkg in "${DEB_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "debian packages present: ${DEB_PACKAGES[*]}"
        return
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# $1 crate, $2 version, $3 binary name, rest: extra cargo install flags.
install_crate() {
    local crate="$1" version="$2" bin="$3"
    shift 3
    local have=""
    if [ -x "${MW_TOOLS_DIR}/bin/${bin}" ]; then
        have="$("${MW_TOOLS_DIR}/bin/${bin}" --version 2>/dev/null | awk '{print $2}')" || have=""
    fi
    if [ "$have" = "$version" ]; then
        say "${bin} ${version} already installed in ${MW_TOOLS_DIR}/bin"
        return
    fi
    say "installing ${crate} ${version} into ${MW_TOOLS_DIR} (found: ${have:-none}; takes minutes)"
    cargo install --locked --quiet --force -j "${MW_CARGO_JOBS}" \
        --root "${MW_TOOLS_DIR}" --version "=${version}" "$@" "${crate}" \
        || die "cargo install ${crate}@${version} failed"
    have="$("${MW_TOOLS_DIR}/bin/${bin}" --version | awk '{print $2}')"
    [ "$have" = "$version" ] || die "${bin} reports version '${have}', expected ${version}"
}

build_adapter() {
    # Built in its own target dir: sharing the Wasmtime build's would make
    # the two cargo runs wait on each other's lock.
    local target="${CACHE_DIR}/cargo-target-adapter"
    local bin="${target}/release/mw-wasi-adapter"
    CARGO_TARGET_DIR="$target" cargo build --locked --release --quiet -j "${MW_CARGO_JOBS}" \
        --manifest-path "${REPO_DIR}/third_party/adapter/Cargo.toml" \
        || die "building third_party/adapter failed"
    "$bin" "${ADAPTER_OUT}.new" || die "writing the adapter failed"
    if [ -f "$ADAPTER_OUT" ] && cmp -s "${ADAPTER_OUT}.new" "$ADAPTER_OUT"; then
        rm -f "${ADAPTER_OUT}.new"
        say "wasi adapter up to date: ${ADAPTER_OUT}"
    else
        mv -f "${ADAPTER_OUT}.new" "$ADAPTER_OUT"
        say "wrote wasi adapter: ${ADAPTER_OUT}"
    fi
}

command -v cargo >/dev/null || die "cargo not found on PATH (install a Rust toolchain >= 1.88 with rustup)"
mkdir -p "${MW_TOOLS_DIR}/bin"

install_debian_packages
# Only the features the test build uses: the full default sets take several
# times longer to compile.
install_crate wit-bindgen-cli "$WIT_BINDGEN_VERSION" wit-bindgen \
    --no-default-features --features c
install_crate wasm-tools "$WASM_TOOLS_VERSION" wasm-tools \
    --no-default-features --features component,validate,print,parse,objdump,metadata
build_adapter
say "done; tools in ${MW_TOOLS_DIR}/bin"
