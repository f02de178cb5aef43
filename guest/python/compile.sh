#!/usr/bin/env bash
# compile.sh USER_FILE OUT.wasm [WORKDIR]
#
# Compiles a Python node (a file defining execute(input_items, config,
# context)) into a marie:node component with componentize-py.
#
# The wrapper (marie_app.py, the marie package) and the user's file, as
# node.py, are copied into WORKDIR/src and componentize-py builds from
# there; nothing is written into the source tree. Without WORKDIR a
# temporary directory is used and removed afterwards. No network is used.
#
# exit status:
#   0   OUT.wasm written
#   1   the user's code is wrong; one line on stderr:
#       USER_FILE:LINE:COL: message   (syntax error, no or wrong execute,
#       exception while the module is imported)
#   64  bad usage
#   70  the toolchain failed (its output on stderr)
#
# environment:
#   MW_PYTHON_TOOLCHAIN  venv with componentize-py (install-toolchain.sh)
#                        (default: python/ under the toolchains root,
#                    see ../toolchains.sh)
#   MW_WIT_DIR           directory of marie-node.wit (default: ../../wit
#                        from this script)
set -euo pipefail

MAX_SOURCE_BYTES=$((1024 * 1024))
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchains.sh
. "${SCRIPT_DIR}/../toolchains.sh"
TOOLCHAIN_DIR="${MW_PYTHON_TOOLCHAIN:-$(mw_toolchains_root)/python}"
WIT_DIR="${MW_WIT_DIR:-${SCRIPT_DIR}/../../wit}"
COMPONENTIZE_PY="${TOOLCHAIN_DIR}/bin/componentize-py"
DIAG_MARKER='MARIE-COMPILE-ERROR '

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

[ -f "${USER_FILE}" ] || fail 64 "${USER_FILE}: no such file"
[ -r "${USER_FILE}" ] || fail 64 "${USER_FILE}: not readable"
size="$(stat -c %s -- "${USER_FILE}")"
if [ "${size}" -gt "${MAX_SOURCE_BYTES}" ]; then
    printf '%s:1:1: source is %s bytes, more than the limit of %s\n' \
        "${USER_FILE}" "${size}" "${MAX_SOURCE_BYTES}" >&2
    exit 1
fi
[ -x "${COMPONENTIZE_PY}" ] \
    || fail 70 "componentize-py not found in ${TOOLCHAIN_DIR} (run guest/python/install-toolchain.sh or set MW_PYTHON_TOOLCHAIN)"
[ -f "${WIT_DIR}/marie-node.wit" ] || fail 70 "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"

if [ $# -eq 3 ]; then
    WORK="$3"
    mkdir -p -- "${WORK}" || fail 70 "cannot create work dir ${WORK}"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/marie-python.XXXXXX")" || fail 70 "cannot create a temporary dir"
    trap 'rm -rf -- "${WORK}"' EXIT
fi
WORK="$(cd "${WORK}" && pwd)"

# Only what is in src/ can be imported by the node: the wrapper, the marie
# package and the user's file. An empty site-packages (found through
# VIRTUAL_ENV) stops componentize-py from adding the host's own.
rm -rf -- "${WORK}/src" "${WORK}/env" "${WORK}/tmp" "${WORK}/node.wasm" "${WORK}/componentize.log"
mkdir -p "${WORK}/src/marie" "${WORK}/env/lib/site-packages" "${WORK}/tmp"
cp -- "${SCRIPT_DIR}/marie_app.py" "${WORK}/src/"
cp -- "${SCRIPT_DIR}"/marie/*.py "${WORK}/src/marie/"
cp -- "${USER_FILE}" "${WORK}/src/node.py"
basename -- "${USER_FILE}" | tr -d '\n' >"${WORK}/src/node.name"

status=0
(
    cd "${WORK}"
    exec env TMPDIR="${WORK}/tmp" VIRTUAL_ENV="${WORK}/env" PYTHONDONTWRITEBYTECODE=1 \
        "${COMPONENTIZE_PY}" -q -d "${WIT_DIR}" -w node \
        componentize marie_app -p "${WORK}/src" -o "${WORK}/node.wasm"
) >"${WORK}/componentize.log" 2>&1 || status=$?

if [ "${status}" -ne 0 ]; then
    # The wrapper reports problems in the user's code with one marker line;
    # componentize-py may prefix it (e.g. "AssertionError: ").
    diag="$(grep -a -o "${DIAG_MARKER}.*" "${WORK}/componentize.log" | tail -n 1 || true)"
    if [ -n "${diag}" ]; then
        printf '%s:%s\n' "${USER_FILE}" "${diag#"${DIAG_MARKER}"}" >&2
        exit 1
    fi
    printf 'compile.sh: componentize-py failed (exit %s):\n' "${status}" >&2
    head -c 65536 "${WORK}/componentize.log" >&2
    exit 70
fi
[ -s "${WORK}/node.wasm" ] || fail 70 "componentize-py wrote no component"

# Write OUT in one step so that no reader sees half a component.
out_tmp="${OUT}.tmp.$$"
cp -- "${WORK}/node.wasm" "${out_tmp}" || fail 70 "cannot write ${OUT}"
mv -f -- "${out_tmp}" "${OUT}" || { rm -f -- "${out_tmp}"; fail 70 "cannot write ${OUT}"; }
