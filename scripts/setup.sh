#!/usr/bin/env bash
# Installs everything marie-wasm needs on a fresh Debian 12 machine (as root)
# and builds it: Debian packages, the guest toolchain for the test
# components, the test servers Debian lacks (moto for S3), then libmariewasm
# and the marie-wasm CLI with CMake.
#
# Idempotent and quick on a second run: cargo output lives under
# $HOME/.cache/marie-wasm, outside the checkout.
#
# Environment: MW_BUILD_DIR (default build), MW_CMAKE_ARGS (extra -D flags).
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MW_BUILD_DIR:-${REPO_DIR}/build}"
DEB_PACKAGES=(build-essential cmake pkg-config git python3 libsqlite3-dev libhiredis-dev redis-server
              libseccomp-dev libidn2-dev bubblewrap
              libjansson-dev libcurl4-openssl-dev libssl-dev libcmocka-dev libmicrohttpd-dev wrk
              valgrind clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libclang-rt-19-dev)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root)"
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

export PATH="${HOME}/.cargo/bin:${PATH}"
command -v cargo >/dev/null || die "cargo not found (a Rust toolchain >= 1.95 is needed to build Wasmtime)"

# The CLI secrets test reads encrypted files back with the cryptography package.
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography

"${REPO_DIR}/scripts/install-guest-tools.sh"
# The S3 server the storage tests run against (moto, in a venv).
"${REPO_DIR}/scripts/install-test-tools.sh"

say "configuring and building in ${BUILD_DIR} (the first build compiles Wasmtime: several minutes)"
# shellcheck disable=SC2086
cmake -S "${REPO_DIR}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MW_CMAKE_ARGS:-} >/dev/null
cmake --build "${BUILD_DIR}" -j"$(nproc)"
say "built ${BUILD_DIR}/marie-wasm and ${BUILD_DIR}/libmariewasm.so"
