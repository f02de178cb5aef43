#!/usr/bin/env bash
# compile.sh USER_FILE OUT.wasm [WORKDIR]
#
# Compiles a C node (one file defining marie_response *execute(const
# marie_items *input, const char *config, const marie_context *ctx), see
# marie.h) into a marie:node component:
#
#   clang --target=wasm32-wasi -c USER_FILE     (marie.h force-included)
#   wasm-ld USER.o + the toolchain's marie.o, node.o, node_component_type.o
#         + wasi-libc (reactor, see lib/link.args) -> core module
#   wasm-tools component new --adapt (WASI preview1 reactor adapter)
#   wasm-tools validate
#
# The SDK and the wit-bindgen bindings are compiled ahead of time by
# install-toolchain.sh. The user's file is copied into WORKDIR/src and
# compiled there; nothing is written into the source tree. Without WORKDIR
# a temporary directory is used and removed afterwards. No network, no
# HOME: the toolchain may be read-only.
#
# exit status:
#   0   OUT.wasm written
#   1   the user's code is wrong; diagnostics on stderr, one per problem:
#       USER_FILE:LINE:COL: error: message   (clang errors on the user's
#       lines, no or wrong execute, undefined or clashing functions)
#   64  bad usage
#   70  the toolchain failed (its output on stderr)
#
# environment:
#   MW_C_TOOLCHAIN  toolchain from install-toolchain.sh (default: c/ under
#                   the toolchains root, see ../toolchains.sh)
#   MW_WIT_DIR      directory of marie-node.wit (default: ../../wit from
#                   this script); must be the WIT the toolchain was built for
#   MW_TOOLS_DIR    not needed: the toolchain holds its own wasm-tools and
#                   adapter
set -euo pipefail

MAX_SOURCE_BYTES=$((1024 * 1024))
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "${SCRIPT_DIR}/../toolchains.sh" ]; then
    # shellcheck source=../toolchains.sh
    . "${SCRIPT_DIR}/../toolchains.sh"
    TOOLCHAIN_DIR="${MW_C_TOOLCHAIN:-$(mw_toolchains_root)/c}"
else
    TOOLCHAIN_DIR="${MW_C_TOOLCHAIN:-${HOME:-/nonexistent}/.cache/marie-wasm/c-toolchain}"
fi
WIT_DIR="${MW_WIT_DIR:-${SCRIPT_DIR}/../../wit}"
SIGNATURE='marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)'

# The user's code: C17 with GNU extensions, -O2. Warnings that mean
# undefined behaviour at run time are errors; other warnings are not shown.
# The sanitizers (trap mode, no runtime) turn a NULL dereference, an
# out-of-bounds index into an array of known size and a bad VLA bound into
# a trap: wasm memory has no guard page at address 0.
CFLAGS=(--target=wasm32-wasi -O2 -std=gnu17
    -fno-color-diagnostics -fno-caret-diagnostics -fno-diagnostics-show-option
    -Werror=return-type -Werror=incompatible-pointer-types -Werror=int-conversion
    -Werror=implicit-function-declaration -Werror=implicit-int -Werror=format
    -Wno-error=format-zero-length -Wno-error=format-extra-args -Werror=format-security
    -Werror=uninitialized -Werror=array-bounds -Werror=division-by-zero -Werror=return-stack-address
    -fsanitize=null,bounds,vla-bound -fsanitize-trap=all
    -ffunction-sections -fdata-sections)

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
fail_log() {   # $1 what failed, $2 its log
    printf 'compile.sh: %s failed:\n' "$1" >&2
    head -c 65536 "$2" >&2
    exit 70
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
USER_FILE="$1"
OUT="$2"
[ -n "${USER_FILE}" ] && [ -n "${OUT}" ] || usage

[ -f "${USER_FILE}" ] || fail 64 "${USER_FILE}: no such file"
[ -r "${USER_FILE}" ] || fail 64 "${USER_FILE}: not readable"
size="$(stat -c %s -- "${USER_FILE}")"
if [ "${size}" -gt "${MAX_SOURCE_BYTES}" ]; then
    printf '%s:1:1: error: source is %s bytes, more than the limit of %s\n' \
        "${USER_FILE}" "${size}" "${MAX_SOURCE_BYTES}" >&2
    exit 1
fi

TC="${TOOLCHAIN_DIR}"
CC="${TC}/bin/clang"
WASM_TOOLS="${TC}/bin/wasm-tools"
ADAPTER="${TC}/wasi_snapshot_preview1.reactor.wasm"
for f in include/marie.h lib/marie.o lib/node.o lib/node_component_type.o lib/link.args \
    bin/wasm-tools bin/wasm-ld wasi_snapshot_preview1.reactor.wasm clang-version clang.stat wit.sha256; do
    [ -e "${TC}/${f}" ] \
        || fail 70 "${TC}/${f} not found (run guest/c/install-toolchain.sh or set MW_C_TOOLCHAIN)"
done
[ -x "${CC}" ] || fail 70 "${CC} does not lead to a clang (is clang-19 installed? rerun guest/c/install-toolchain.sh)"
[ -f "${WIT_DIR}/marie-node.wit" ] || fail 70 "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"
if [ "$(sha256sum <"${WIT_DIR}/marie-node.wit" | cut -d' ' -f1)" != "$(cat "${TC}/wit.sha256")" ]; then
    fail 70 "${TC} was built for another ${WIT_DIR}/marie-node.wit (rerun guest/c/install-toolchain.sh)"
fi
# clang --version costs ~70 ms; its size and time stamp say as much.
[ "$(stat -L -c '%s %Y' "${CC}")" = "$(cat "${TC}/clang.stat")" ] \
    || fail 70 "${CC} changed since the toolchain was built with $(cat "${TC}/clang-version") (rerun guest/c/install-toolchain.sh)"

if [ $# -eq 3 ]; then
    WORK="$3"
    mkdir -p -- "${WORK}" || fail 70 "cannot create work dir ${WORK}"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/marie-c.XXXXXX")" || fail 70 "cannot create a temporary dir"
    trap 'rm -rf -- "${WORK}"' EXIT
fi
WORK="$(cd "${WORK}" && pwd)"
rm -rf -- "${WORK}/src" "${WORK}/obj" "${WORK}/tmp" "${WORK}/node.wasm"
mkdir -p "${WORK}/src" "${WORK}/obj" "${WORK}/tmp"
export TMPDIR="${WORK}/tmp"

# The file keeps its name (__FILE__ and assert() messages show it) when
# the name is plain; clang runs in src/ and names it that way, and the
# diagnostics are rewritten to USER_FILE.
NAME="$(basename -- "${USER_FILE}")"
case "${NAME}" in
    -* | *[!A-Za-z0-9._+-]* | *.h | "") NAME=node.c ;;
esac
case "${NAME}" in
    *.c) ;;
    *) NAME="${NAME}.c" ;;
esac
cp -- "${USER_FILE}" "${WORK}/src/${NAME}"
STEM="${NAME%.c}"

# Prints LINE:COL of identifier $1 in the user's file for a link error:
# its first appearance outside any braces (a declaration or definition),
# else its first appearance, else 1:1. Comments and literals are skipped.
locate() {
    LC_ALL=C awk -v sym="$1" '
        {
            line = $0; n = length(line); out = ""; i = 1
            while (i <= n) {
                c = substr(line, i, 1); c2 = substr(line, i, 2)
                if (incomment) {
                    if (c2 == "*/") { incomment = 0; out = out "  "; i += 2 } else { out = out " "; i++ }
                } else if (c2 == "/*") {
                    incomment = 1; out = out "  "; i += 2
                } else if (c2 == "//") {
                    break
                } else if (c == "\"" || c == "\047") {
                    out = out " "; i++
                    while (i <= n) {
                        d = substr(line, i, 1)
                        if (d == "\\") { out = out "  "; i += 2; continue }
                        out = out " "; i++
                        if (d == c) break
                    }
                } else {
                    out = out c; i++
                }
            }
            m = length(out); L = length(sym)
            for (j = 1; j <= m; j++) {
                c = substr(out, j, 1)
                if (c == "{") depth++
                else if (c == "}") depth--
                else if (substr(out, j, L) == sym && (j == 1 || substr(out, j - 1, 1) !~ /[A-Za-z0-9_]/) \
                         && substr(out, j + L, 1) !~ /[A-Za-z0-9_]/) {
                    if (depth <= 0) { print NR ":" j; found = 1; exit }
                    if (first == "") first = NR ":" j
                }
            }
        }
        END { if (!found) print (first != "" ? first : "1:1") }' "${WORK}/src/${NAME}"
}

# ---- compile: only errors reach the user, on the user's lines -------------

status=0
(
    cd "${WORK}/src"
    exec "${CC}" "${CFLAGS[@]}" -I "${TC}/include" -include "${TC}/include/marie.h" -c "${NAME}" \
        -o "${WORK}/obj/${STEM}.o"
) >"${WORK}/compile.log" 2>&1 || status=$?
if [ "${status}" -ne 0 ]; then
    diag="$(awk -v name="${NAME}" -v shown="${USER_FILE}" -v sig="${SIGNATURE}" '
        function fix(msg) {
            if (msg ~ /^conflicting types for .execute.$/)
                return msg "; execute must be: " sig
            if (msg ~ /file not found$/)
                return msg "; a node is one file: it can include the C library headers and marie.h"
            return msg
        }
        index($0, "In file included from " name ":") == 1 {
            incl = substr($0, length("In file included from " name ":") + 1)
            sub(/:.*$/, "", incl)
            next
        }
        match($0, /:[0-9]+:[0-9]+: (fatal error|error): /) {
            file = substr($0, 1, RSTART - 1)
            split(substr($0, RSTART + 1), pos, ":")
            msg = fix(substr($0, RSTART + RLENGTH))
            if (file == name)
                printf "%s:%s:%s: error: %s\n", shown, pos[1], pos[2], msg
            else
                printf "%s:%s:1: error: %s (in %s:%s)\n", shown, incl == "" ? 1 : incl, msg, file, pos[1]
        }' "${WORK}/compile.log")"
    [ -n "${diag}" ] || fail_log "clang" "${WORK}/compile.log"
    printf '%s\n' "${diag}" >&2
    exit 1
fi

# ---- link -----------------------------------------------------------------

# wasm-ld with the arguments install-toolchain.sh took from clang's driver
# (reactor, stack first and 1 MiB, debug info stripped, wasi-libc).
CORE="${WORK}/obj/${STEM}.wasm"
link=()
while IFS= read -r arg; do
    arg="${arg//@TC@/${TC}}"
    arg="${arg//@USER_OBJ@/${WORK}/obj/${STEM}.o}"
    link+=("${arg//@OUT@/${CORE}}")
done <"${TC}/lib/link.args"
status=0
"${link[@]}" >"${WORK}/link.log" 2>&1 || status=$?
if [ "${status}" -ne 0 ]; then
    diag=""
    while IFS= read -r sym; do
        if [ "${sym}" = execute ]; then
            diag+="${USER_FILE}:1:1: error: no function 'execute' is defined; write: ${SIGNATURE} { ... }"$'\n'
        else
            diag+="${USER_FILE}:$(locate "${sym}"): error: '${sym}' is declared but never defined (and the C library for WASI has no such function)"$'\n'
        fi
    done < <(sed -n 's/^.*undefined symbol: \([A-Za-z_][A-Za-z0-9_]*\).*$/\1/p' "${WORK}/link.log" | awk '!seen[$0]++')
    while IFS= read -r sym; do
        case "${sym}" in
            marie_* | node_* | exports_* | __wasm_* | cabi_*) owner="the marie SDK" ;;
            *) owner="the C library" ;;
        esac
        diag+="${USER_FILE}:$(locate "${sym}"): error: '${sym}' is already defined by ${owner}; rename yours"$'\n'
    done < <(sed -n -e 's/^.*symbol type mismatch: \([A-Za-z_][A-Za-z0-9_]*\).*$/\1/p' -e 's/^.*duplicate symbol: \([A-Za-z_][A-Za-z0-9_]*\).*$/\1/p' "${WORK}/link.log" | awk '!seen[$0]++')
    [ -n "${diag}" ] || fail_log "linking" "${WORK}/link.log"
    printf '%s' "${diag}" >&2
    exit 1
fi

# ---- component ------------------------------------------------------------

status=0
"${WASM_TOOLS}" component new "${CORE}" --adapt "wasi_snapshot_preview1=${ADAPTER}" \
    -o "${WORK}/node.wasm" >"${WORK}/component.log" 2>&1 || status=$?
if [ "${status}" -ne 0 ]; then
    # A module imports from or exports to what the world does not have only
    # when the user's code asked for it (import_module / export_name).
    if grep -Eq 'module requires an import interface named|failed to find export|export .* not defined|unknown import' \
        "${WORK}/component.log"; then
        printf '%s:%s: error: the code imports or exports functions outside the marie:node world: %s\n' \
            "${USER_FILE}" "$(locate import_module)" "$(grep -v '^\s*$' "${WORK}/component.log" | tail -n 1 | sed 's/^ *[0-9]*: *//')" >&2
        exit 1
    fi
    fail_log "wasm-tools component new" "${WORK}/component.log"
fi
"${WASM_TOOLS}" validate --features component-model "${WORK}/node.wasm" >"${WORK}/validate.log" 2>&1 \
    || fail_log "wasm-tools validate" "${WORK}/validate.log"

# Write OUT in one step so that no reader sees half a component.
out_tmp="${OUT}.tmp.$$"
cp -- "${WORK}/node.wasm" "${out_tmp}" || fail 70 "cannot write ${OUT}"
mv -f -- "${out_tmp}" "${OUT}" || { rm -f -- "${out_tmp}"; fail 70 "cannot write ${OUT}"; }
