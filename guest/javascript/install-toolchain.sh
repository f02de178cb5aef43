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
# Idempotent: when the toolchain was installed from the same lock file this
# is a quick no-op that prints one line.
#
# Environment:
#   MW_JS_TOOLCHAIN  install directory
#                    (default $HOME/.cache/marie-wasm/js-toolchain)
set -Eeuo pipefail

MIN_NODE_MAJOR=20
MIN_NODE_MINOR=19       # rolldown (used by jco) needs ^20.19 or >=22.12

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLCHAIN_DIR="${MW_JS_TOOLCHAIN:-${HOME}/.cache/marie-wasm/js-toolchain}"
STAMP="${TOOLCHAIN_DIR}/.installed-lock.sha256"

say() { printf 'install-js-toolchain: %s\n' "$*"; }
die() { printf 'install-js-toolchain: error: %s\n' "$*" >&2; exit 1; }

lock_sum() { sha256sum "$1" | cut -d' ' -f1; }

want="$(lock_sum "${SCRIPT_DIR}/package-lock.json")"
if [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${want}" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/jco" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/esbuild" ] \
    && [ -x "${TOOLCHAIN_DIR}/node_modules/.bin/tsc" ]; then
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
rm -f "${STAMP}"
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
printf '%s\n' "${want}" >"${STAMP}"
say "jco $("${TOOLCHAIN_DIR}/node_modules/.bin/jco" --version)," \
    "esbuild $("${TOOLCHAIN_DIR}/node_modules/.bin/esbuild" --version)," \
    "$("${TOOLCHAIN_DIR}/node_modules/.bin/tsc" --version) installed"
