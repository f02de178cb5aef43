#!/usr/bin/env bash
# Installs the pinned JavaScript toolchain (jco + componentize-js, esbuild,
# typescript) into a directory outside the checkout, with `npm ci` from the
# committed package-lock.json.
#
# componentize-js ships StarlingMonkey (SpiderMonkey built for WASI) and
# wizer as npm packages, so Node.js and npm are all the host needs. No
# install script runs (--ignore-scripts): the native binaries come as
# per-platform packages that npm picks through optionalDependencies.
#
# Then compiles a trivial node once, which leaves the compiled engine in
# wizer's cache (TOOLCHAIN/wizer-home) for compile.sh.
#
# Idempotent: when the toolchain was installed from the same lock file this
# is a quick no-op that prints one line.
#
# Environment:
#   MW_JS_TOOLCHAIN  install directory (default: javascript/ under the
#                    toolchains root, see ../toolchains.sh)
set -Eeuo pipefail

MIN_NODE_MAJOR=20
MIN_NODE_MINOR=19       # rolldown (used by jco) needs ^20.19 or >=22.12

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchains.sh
. "${SCRIPT_DIR}/../toolchains.sh"
TOOLCHAIN_DIR="${MW_JS_TOOLCHAIN:-$(mw_toolchains_root)/javascript}"
STAMP="${TOOLCHAIN_DIR}/.installed-lock.sha256"

say() { printf 'install-js-toolchain: %s\n' "$*"; }
die() { printf 'install-js-toolchain: error: %s\n' "$*" >&2; exit 1; }

lock_sum() { sha256sum "$1" | cut -d' ' -f1; }

# Compiles a trivial node once so that wizer's Wasmtime cache in
# TOOLCHAIN/wizer-home holds the compiled StarlingMonkey engine; compile.sh
# then skips that step (about half of every build).
warm_cache() {
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/marie-js-warm.XXXXXX")" || die "cannot create a temporary dir"
    printf 'export function execute(inputItems) {\n  return { ok: inputItems };\n}\n' >"${tmp}/warm.js"
    mkdir -p "${TOOLCHAIN_DIR}/wizer-home"
    say "warming the engine cache in ${TOOLCHAIN_DIR}/wizer-home"
    if ! MW_JS_TOOLCHAIN="${TOOLCHAIN_DIR}" "${SCRIPT_DIR}/compile.sh" \
        "${tmp}/warm.js" "${tmp}/warm.wasm" "${tmp}/work" >"${tmp}/log" 2>&1; then
        cat "${tmp}/log" >&2
        rm -rf -- "${tmp}" "${TOOLCHAIN_DIR}/wizer-home"
        die "compiling a test node failed"
    fi
    rm -rf -- "${tmp}"
    touch "${TOOLCHAIN_DIR}/wizer-home/.warm"
}

want="$(lock_sum "${SCRIPT_DIR}/package-lock.json")"
if [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${want}" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/jco" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/esbuild" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/tsc" ]; then
    [ -f "${TOOLCHAIN_DIR}/wizer-home/.warm" ] || warm_cache
    [ -f "${TOOLCHAIN_DIR}/.toolchain-id" ] \
        || mw_toolchain_publish "${TOOLCHAIN_DIR}" "js lock ${want}; node $(node --version)"
    say "present in ${TOOLCHAIN_DIR}"
    exit 0
fi

command -v node >/dev/null || die "node not found (Node.js >= ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} is needed)"
command -v npm >/dev/null || die "npm not found"
node_version="$(node -p 'process.versions.node')"
IFS=. read -r major minor _ <<<"${node_version}"
if [ "${major}" -lt "${MIN_NODE_MAJOR}" ] \
    || { [ "${major}" -eq "${MIN_NODE_MAJOR}" ] && [ "${minor}" -lt "${MIN_NODE_MINOR}" ]; }; then
    die "node ${node_version} is too old (need >= ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR})"
fi

say "installing into ${TOOLCHAIN_DIR} (npm ci)"
mkdir -p "${TOOLCHAIN_DIR}"
rm -rf -- "${STAMP}" "${TOOLCHAIN_DIR}/wizer-home" "${TOOLCHAIN_DIR}/.toolchain-id"
cp -- "${SCRIPT_DIR}/package.json" "${SCRIPT_DIR}/package-lock.json" "${SCRIPT_DIR}/.npmrc" \
    "${TOOLCHAIN_DIR}/"
(
    cd "${TOOLCHAIN_DIR}"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
) || die "npm ci failed in ${TOOLCHAIN_DIR}"

for tool in jco esbuild tsc; do
    "${TOOLCHAIN_DIR}/node_modules/.bin/${tool}" --version >/dev/null 2>&1 \
        || die "${tool} does not run"
done
warm_cache
printf '%s\n' "${want}" >"${STAMP}"
mw_toolchain_publish "${TOOLCHAIN_DIR}" "js lock ${want}; node $(node --version)"
say "jco $("${TOOLCHAIN_DIR}/node_modules/.bin/jco" --version)," \
    "esbuild $("${TOOLCHAIN_DIR}/node_modules/.bin/esbuild" --version)," \
    "$("${TOOLCHAIN_DIR}/node_modules/.bin/tsc" --version) installed"
