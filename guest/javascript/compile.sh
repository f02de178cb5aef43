#!/usr/bin/env bash
# compile.sh USER_FILE OUT.wasm [WORKDIR]
#
# Compiles a JavaScript or TypeScript node (a .js/.ts file exporting
# execute(inputItems, config, context)) into a marie:node component with
# jco componentize (componentize-js, StarlingMonkey).
#
# build.mjs copies the wrapper (wrapper/) and the user's file into
# WORKDIR/src, checks the user's file (esbuild, tsc for .ts, the execute
# export) and bundles everything with esbuild into WORKDIR/bundle; jco
# componentize turns the bundle into WORKDIR/node.wasm, which is copied to
# OUT. Nothing is written into the source tree; without WORKDIR a temporary
# directory is used and removed afterwards. No network is used.
#
# The component imports only marie:node/* and wasi:* 0.2 interfaces (io,
# clocks, random, cli, filesystem): StarlingMonkey's wasi:http support
# (global fetch, fetch-event) is disabled.
#
# exit status:
#   0   OUT.wasm written
#   1   the user's code is wrong; diagnostics on stderr, one per problem:
#       USER_FILE:LINE:COL: message   (syntax error, type error, bad import,
#       no or wrong execute, exception while the module's top level runs)
#   64  bad usage
#   70  the toolchain failed (its output on stderr)
#
# environment:
#   MW_JS_TOOLCHAIN  directory with node_modules from install-toolchain.sh
#                    (default: javascript/ under the toolchains root,
#                    see ../toolchains.sh)
#   MW_WIT_DIR       directory of marie-node.wit (default: ../../wit from
#                    this script)
#   MW_NODE          the node executable (default: node on PATH)
#   MW_JS_INIT_TIMEOUT  seconds jco componentize may take (default 300); the
#                    module's top level runs in it, and may never end
#
# Reads the toolchain (read-only is fine, see WIZER_HOME below), this
# directory and the WIT dir; writes only WORKDIR and OUT.
set -euo pipefail

MAX_SOURCE_BYTES=$((1024 * 1024))
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchains.sh
. "${SCRIPT_DIR}/../toolchains.sh"
TOOLCHAIN_DIR="${MW_JS_TOOLCHAIN:-$(mw_toolchains_root)/javascript}"
WIT_DIR="${MW_WIT_DIR:-${SCRIPT_DIR}/../../wit}"
NODE="${MW_NODE:-node}"
INIT_TIMEOUT="${MW_JS_INIT_TIMEOUT:-300}"
JCO="${TOOLCHAIN_DIR}/node_modules/@bytecodealliance/jco/dist/jco.js"

usage() {
    printf 'usage: compile.sh USER_FILE OUT.wasm [WORKDIR]\n' >&2
    exit 64
}
fail() {   # $1 exit status, rest: message
    local status="$1"
    shift
    printf 'compile.sh: error: %s\n' "$*" >&2
    exit "${status}"
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
USER_FILE="$1"
OUT="$2"
[ -n "${USER_FILE}" ] && [ -n "${OUT}" ] || usage
case "${INIT_TIMEOUT}" in
    '' | *[!0-9]*) fail 64 "MW_JS_INIT_TIMEOUT must be a number of seconds" ;;
esac

[ -f "${USER_FILE}" ] || fail 64 "${USER_FILE}: no such file"
[ -r "${USER_FILE}" ] || fail 64 "${USER_FILE}: not readable"
size="$(stat -c %s -- "${USER_FILE}")"
if [ "${size}" -gt "${MAX_SOURCE_BYTES}" ]; then
    printf '%s:1:1: source is %s bytes, more than the limit of %s\n' \
        "${USER_FILE}" "${size}" "${MAX_SOURCE_BYTES}" >&2
    exit 1
fi
command -v "${NODE}" >/dev/null || fail 70 "${NODE} not found (set MW_NODE)"
[ -f "${JCO}" ] \
    || fail 70 "jco not found in ${TOOLCHAIN_DIR} (run guest/javascript/install-toolchain.sh or set MW_JS_TOOLCHAIN)"
[ -f "${WIT_DIR}/marie-node.wit" ] || fail 70 "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"
WIT_DIR="$(cd "${WIT_DIR}" && pwd)"

if [ $# -eq 3 ]; then
    WORK="$3"
    mkdir -p -- "${WORK}" || fail 70 "cannot create work dir ${WORK}"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/marie-javascript.XXXXXX")" || fail 70 "cannot create a temporary dir"
    trap 'rm -rf -- "${WORK}"' EXIT
fi
WORK="$(cd "${WORK}" && pwd)"
# componentize-js hands wizer its paths in one space-separated string.
case "${WORK}" in
    *[[:space:]]*) fail 64 "the work dir must not contain white space: ${WORK}" ;;
esac
rm -rf -- "${WORK}/tmp" "${WORK}/node.wasm" "${WORK}/componentize.log"
mkdir -p "${WORK}/tmp"

# Check and bundle; build.mjs prints the user's diagnostics itself.
status=0
env TMPDIR="${WORK}/tmp" "${NODE}" "${SCRIPT_DIR}/build.mjs" bundle \
    --toolchain "${TOOLCHAIN_DIR}" --work "${WORK}" --user "${USER_FILE}" --shown "${USER_FILE}" \
    || status=$?
case "${status}" in
    0) ;;
    1) exit 1 ;;
    *) fail 70 "bundling failed (build.mjs exit ${status})" ;;
esac

# componentize-js runs wizer with an environment of its own (no HOME), and
# wizer (Wasmtime) then looks the home directory up in /etc/passwd, which a
# sandbox's uid may not have; this shim gives it one. Wasmtime keeps its
# compilation cache there: with the one install-toolchain.sh fills
# (TOOLCHAIN/wizer-home, the same StarlingMonkey engine for every node)
# wizer skips compiling the engine, about half of the build. It may be
# read-only: a miss only costs time.
WIZER_HOME="${WORK}/tmp/home"
[ -d "${TOOLCHAIN_DIR}/wizer-home" ] && WIZER_HOME="${TOOLCHAIN_DIR}/wizer-home"
WIZER="$("${NODE}" -e 'import(require("node:url").pathToFileURL(process.argv[1]))
    .then((m) => process.stdout.write(m.default))' \
    "${TOOLCHAIN_DIR}/node_modules/@bytecodealliance/wizer/index.js")" && [ -x "${WIZER}" ] \
    || fail 70 "the wizer binary of ${TOOLCHAIN_DIR} was not found"
mkdir -p "${WORK}/tmp/home"
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
printf '#!/bin/sh\nHOME=%s exec %s "$@"\n' "$(sh_quote "${WIZER_HOME}")" "$(sh_quote "${WIZER}")" \
    >"${WORK}/tmp/wizer"
chmod 700 "${WORK}/tmp/wizer"

# componentize-js writes its scratch files under TMPDIR and runs wizer with
# the bundle's directory as "/"; --cwd pins that to WORK/bundle. The
# disabled features are StarlingMonkey's wasi:http imports, which the
# runtime does not provide.
status=0
(
    cd "${WORK}/bundle"
    exec timeout --kill-after=5 "${INIT_TIMEOUT}" \
        env TMPDIR="${WORK}/tmp" NO_COLOR=1 FORCE_COLOR=0 "${NODE}" "${JCO}" componentize \
        marie-node.js --wit "${WIT_DIR}" --world-name node \
        --disable http fetch-event --wizer-bin "${WORK}/tmp/wizer" \
        --cwd "${WORK}/bundle" -o "${WORK}/node.wasm"
) >"${WORK}/componentize.log" 2>&1 || status=$?

if [ "${status}" -eq 124 ] || [ "${status}" -eq 137 ]; then
    printf '%s:1:1: the module did not finish loading within %s s (its top level runs when the node is compiled)\n' \
        "${USER_FILE}" "${INIT_TIMEOUT}" >&2
    exit 1
fi
if [ "${status}" -ne 0 ]; then
    dstatus=0
    "${NODE}" "${SCRIPT_DIR}/build.mjs" diagnose --work "${WORK}" --shown "${USER_FILE}" \
        --log "${WORK}/componentize.log" || dstatus=$?
    [ "${dstatus}" -eq 1 ] && exit 1
    printf 'compile.sh: jco componentize failed (exit %s):\n' "${status}" >&2
    head -c 65536 "${WORK}/componentize.log" >&2
    exit 70
fi
[ -s "${WORK}/node.wasm" ] || fail 70 "jco componentize wrote no component"

# Write OUT in one step so that no reader sees half a component.
out_tmp="${OUT}.tmp.$$"
cp -- "${WORK}/node.wasm" "${out_tmp}" || fail 70 "cannot write ${OUT}"
mv -f -- "${out_tmp}" "${OUT}" || { rm -f -- "${out_tmp}"; fail 70 "cannot write ${OUT}"; }
