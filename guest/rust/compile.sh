#!/usr/bin/env bash
# compile.sh USER_FILE OUT.wasm [WORKDIR]
#
# Compiles a Rust node (a file defining `pub fn execute(input_items:
# Vec<Item>, config: Value, context: Context) -> Result<Vec<Item>, String>`)
# into a marie:node component.
#
# The user's file is copied into WORKDIR/src and becomes the module `node`
# of a crate whose root is node_main.rs (the WIT export, calling the user's
# execute). rustc (Debian's rustc-web) compiles that crate for
# wasm32-wasip1 in one step against what install-toolchain.sh prepared:
# std in the toolchain's sysroot, the marie crate and its dependencies
# (serde, serde_json, wit-bindgen) as rlibs. Nothing else is built, no
# cargo runs, no network is used. Fat LTO at opt-level "z", stripped,
# panic=abort; then binaryen's wasm-opt -Oz. `wasm-tools component new`
# with the WASI preview1 reactor adapter makes the component. Without WORKDIR a temporary directory
# is used and removed afterwards.
#
# exit status:
#   0   OUT.wasm written
#   1   the user's code is wrong; diagnostics on stderr, one per problem:
#       USER_FILE:LINE:COL: message   (rustc's errors in the user's file;
#       no, private or wrongly typed execute at the user's `fn execute`)
#   64  bad usage
#   70  the toolchain failed (its output on stderr)
#
# environment:
#   MW_RUST_TOOLCHAIN  the toolchain from install-toolchain.sh (default:
#                      rust/ under the toolchains root, see ../toolchains.sh;
#                      $HOME/.cache/marie-wasm/rust-toolchain without it)
#   MW_WIT_DIR         directory of marie-node.wit (default: ../../wit from
#                      this script); it must be the WIT the toolchain was
#                      built for
#   MW_TOOLS_DIR       if set: take bin/wasm-tools and the adapter from
#                      there instead of the toolchain's copies
#
# Reads the toolchain (read-only is fine), this directory and the WIT dir;
# writes only WORKDIR and OUT. Needs no HOME.
set -euo pipefail

MAX_SOURCE_BYTES=$((1024 * 1024))
MAX_DIAGNOSTICS=50
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "${SCRIPT_DIR}/../toolchains.sh" ]; then
    # shellcheck source=../toolchains.sh
    . "${SCRIPT_DIR}/../toolchains.sh"
    TOOLCHAIN_DIR="${MW_RUST_TOOLCHAIN:-$(mw_toolchains_root)/rust}"
else
    TOOLCHAIN_DIR="${MW_RUST_TOOLCHAIN:-${HOME:-/nonexistent}/.cache/marie-wasm/rust-toolchain}"
fi
WIT_DIR="${MW_WIT_DIR:-${SCRIPT_DIR}/../../wit}"
if [ -n "${MW_TOOLS_DIR:-}" ]; then
    WASM_TOOLS="${MW_TOOLS_DIR}/bin/wasm-tools"
    ADAPTER="${MW_TOOLS_DIR}/wasi_snapshot_preview1.reactor.wasm"
else
    WASM_TOOLS="${TOOLCHAIN_DIR}/bin/wasm-tools"
    ADAPTER="${TOOLCHAIN_DIR}/wasi_snapshot_preview1.reactor.wasm"
fi
RUSTC=/usr/bin/rustc
LINKER=wasm-ld-19
WASM_OPT=wasm-opt
# The WebAssembly features rustc 1.96 uses for wasm32-wasip1 (stripped
# modules do not list them for wasm-opt).
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
    --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types)
WASI_LIBC_DIR=/usr/lib/wasm32-wasi
MAIN_NAME=marie_node_main.rs
SIGNATURE='pub fn execute(input_items: Vec<Item>, config: Value, context: Context) -> Result<Vec<Item>, String>'

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
if command -v iconv >/dev/null && ! iconv -f UTF-8 -t UTF-8 <"${USER_FILE}" >/dev/null 2>&1; then
    printf '%s:1:1: the source is not valid UTF-8\n' "${USER_FILE}" >&2
    exit 1
fi

[ -x "${RUSTC}" ] || fail 70 "${RUSTC} not found (Debian: rustc-web; run guest/rust/install-toolchain.sh)"
command -v "${LINKER}" >/dev/null || fail 70 "${LINKER} not found (Debian: lld-19)"
command -v "${WASM_OPT}" >/dev/null || fail 70 "${WASM_OPT} not found (Debian: binaryen)"
MARIE_RLIB="${TOOLCHAIN_DIR}/lib/wasm/libmarie.rlib"
[ -f "${MARIE_RLIB}" ] && [ -d "${TOOLCHAIN_DIR}/sysroot" ] \
    || fail 70 "no Rust toolchain in ${TOOLCHAIN_DIR} (run guest/rust/install-toolchain.sh or set MW_RUST_TOOLCHAIN)"
[ -x "${WASM_TOOLS}" ] && [ -f "${ADAPTER}" ] \
    || fail 70 "${WASM_TOOLS} or ${ADAPTER} not found (run guest/rust/install-toolchain.sh)"
[ -f "${WIT_DIR}/marie-node.wit" ] || fail 70 "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"
# The WIT is compiled into the toolchain's marie crate (the bindings).
wit_sum="$(sha256sum <"${WIT_DIR}/marie-node.wit" | cut -d' ' -f1)"
[ "${wit_sum}" = "$(cat "${TOOLCHAIN_DIR}/wit.sha256" 2>/dev/null)" ] \
    || fail 70 "${WIT_DIR}/marie-node.wit is not the WIT the toolchain in ${TOOLCHAIN_DIR} was built for (run guest/rust/install-toolchain.sh)"

# The one rlib of a crate in lib/wasm.
rlib() {
    local found=("${TOOLCHAIN_DIR}/lib/wasm/lib$1-"*.rlib)
    [ "${#found[@]}" -eq 1 ] && [ -f "${found[0]}" ] || fail 70 "no single lib$1-*.rlib in ${TOOLCHAIN_DIR}/lib/wasm"
    printf '%s\n' "${found[0]}"
}
SERDE_RLIB="$(rlib serde)"
SERDE_JSON_RLIB="$(rlib serde_json)"

if [ $# -eq 3 ]; then
    WORK="$3"
    mkdir -p -- "${WORK}" || fail 70 "cannot create work dir ${WORK}"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/marie-rust.XXXXXX")" || fail 70 "cannot create a temporary dir"
    trap 'rm -rf -- "${WORK}"' EXIT
fi
WORK="$(cd "${WORK}" && pwd)"
rm -rf -- "${WORK}/src" "${WORK}/tmp" "${WORK}/out" "${WORK}/node.wasm" "${WORK}/rustc.log" \
    "${WORK}/rustc-long.log" "${WORK}/wasm-opt.log" "${WORK}/component.log"
mkdir -p "${WORK}/src" "${WORK}/tmp" "${WORK}/out"

# The user's file keeps its name when it is a plain one: rustc reports
# errors, and panics their locations, under the name it is given.
base="$(basename -- "${USER_FILE}")"
case "${base}" in
    "${MAIN_NAME}" | *[!A-Za-z0-9._-]* | .* | '') module_file=node.rs ;;
    *) module_file="${base}" ;;
esac
cp -- "${USER_FILE}" "${WORK}/src/${module_file}"
sed "s|@USER_MODULE_FILE@|${module_file}|" "${SCRIPT_DIR}/node_main.rs" >"${WORK}/src/${MAIN_NAME}"

# One rustc run: check, compile and link (fat LTO over std, serde_json,
# marie and the user's code). Warnings are not shown.
RUSTC_ARGS=(
    --edition 2024 --crate-name node --crate-type cdylib --target wasm32-wasip1
    --sysroot "${TOOLCHAIN_DIR}/sysroot"
    -L "dependency=${TOOLCHAIN_DIR}/lib/wasm" -L "dependency=${TOOLCHAIN_DIR}/lib/host"
    --extern "marie=${MARIE_RLIB}" --extern "serde=${SERDE_RLIB}" --extern "serde_json=${SERDE_JSON_RLIB}"
    -C opt-level=z -C lto=fat -C codegen-units=1 -C panic=abort -C strip=symbols -C debuginfo=0
    -C "linker=${LINKER}" -C link-self-contained=no -L "native=${WASI_LIBC_DIR}"
    -A warnings --color=never -o "${WORK}/out/node.core.wasm"
)
status=0
(
    cd "${WORK}/src"
    exec env -u RUSTFLAGS -u RUSTC_WRAPPER TMPDIR="${WORK}/tmp" "${RUSTC}" "${RUSTC_ARGS[@]}" \
        --error-format=short "${MAIN_NAME}"
) >"${WORK}/rustc.log" 2>&1 || status=$?

# Finds the user's `fn execute` (LINE:COL of its line's first word), 1:1
# when there is none.
execute_position() {
    local hit line text indent
    hit="$(grep -n -m 1 -E '^[[:space:]]*(pub([[:space:]]*\([^)]*\))?[[:space:]]+)?((const|async|unsafe|extern[[:space:]]*("[^"]*")?)[[:space:]]+)*fn[[:space:]]+execute[[:space:]]*[(<]' \
        -- "${WORK}/src/${module_file}" || true)"
    if [ -z "${hit}" ]; then
        printf '1:1'
        return
    fi
    line="${hit%%:*}"
    text="${hit#*:}"
    indent="${text%%[![:space:]]*}"
    printf '%s:%s' "${line}" "$((${#indent} + 1))"
}

# Errors in the crate root concern the user's execute: no such function, a
# private one, a wrong signature. rustc's long format says more about them
# (the signature it found, where): rustc runs again, only up to the error.
report_execute_error() {
    local first="$1" message where detail expected found
    message="${first#*: error}"
    message="${message#*: }"
    (
        cd "${WORK}/src"
        exec env -u RUSTFLAGS -u RUSTC_WRAPPER TMPDIR="${WORK}/tmp" "${RUSTC}" "${RUSTC_ARGS[@]}" \
            --error-format=human "${MAIN_NAME}"
    ) >"${WORK}/rustc-long.log" 2>&1 || true
    where="$(sed -n -E "s/^ *(-->|:::) ${module_file//./\\.}:([0-9]+):([0-9]+)\$/\\2:\\3/p" \
        "${WORK}/rustc-long.log" | head -n 1)"
    [ -n "${where}" ] || where="$(execute_position)"
    # Types as the user writes them.
    tidy() { sed -E 's/std::string::String/String/g; s/(marie|serde_json::value|serde_json)::(Item|Context|Value)/\2/g'; }
    expected="$(sed -n -E 's/^.*expected function signature `(.*)`$/\1/p' "${WORK}/rustc-long.log" | head -n 1 | tidy)"
    found="$(sed -n -E 's/^.*found function signature `(.*)`$/\1/p' "${WORK}/rustc-long.log" | head -n 1 | tidy)"
    if [ -n "${expected}" ] && [ -n "${found}" ]; then
        detail="expected \`${expected}\`, found \`${found}\`"
    else
        detail="$(printf '%s' "${message}" | tidy)"
    fi
    case "${first}" in
        *"error[E0425]"*"\`execute\`"*)
            printf '%s:1:1: no function `execute` defined; write: %s\n' "${USER_FILE}" "${SIGNATURE}" ;;
        *"error[E0603]"*)
            printf '%s:%s: `execute` must be public; write: %s\n' "${USER_FILE}" "${where}" "${SIGNATURE}" ;;
        *"is not a node result"* | *"must be a function, not"*)
            message="${message%%: this must be*}"
            printf '%s:%s: %s; write: %s\n' "${USER_FILE}" "${where}" "${message%%: here}" "${SIGNATURE}" ;;
        *"error: type \`"*"\` is private"*)
            # A private type in execute's signature: the crate root, which
            # calls execute, cannot name it.
            local type_name="${message#type \`}" hit
            type_name="${type_name%%\`*}"
            hit="$(grep -n -m 1 -E "^[[:space:]]*(struct|enum|type|union)[[:space:]]+${type_name}\\b" \
                -- "${WORK}/src/${module_file}" | cut -d: -f1 || true)"
            [ -n "${hit}" ] && where="${hit}:1"
            printf '%s:%s: type `%s` is used in the signature of `execute`, so it must be public: write `pub` before its definition\n' \
                "${USER_FILE}" "${where}" "${type_name}" ;;
        *"DeserializeOwned"* | *"Deserialize<"*)
            printf '%s:%s: the type of execute'"'"'s config parameter must implement Deserialize: add #[derive(Deserialize)] to it, or take config: Value (%s)\n' \
                "${USER_FILE}" "${where}" "${detail}" ;;
        *)
            printf '%s:%s: `execute` has the wrong signature (%s); write: %s\n' \
                "${USER_FILE}" "${where}" "${detail}" "${SIGNATURE}" ;;
    esac >&2
}

# rustc's short format: "FILE:LINE:COL: error[E...]: message: label".
# Errors in the user's file are reported as they are (the copy has the
# user's name and lines); errors in the crate root concern execute.
# Returns 1 when there are neither: the toolchain's problem.
report_errors() {
    local user_lines main_line
    user_lines="$(grep -a -E "^${module_file//./\\.}:[0-9]+:[0-9]+: error" "${WORK}/rustc.log" || true)"
    if [ -n "${user_lines}" ]; then
        printf '%s\n' "${user_lines}" | head -n "${MAX_DIAGNOSTICS}" | while IFS= read -r line; do
            local rest="${line#"${module_file}"}" hint=""
            case "${rest}" in
                *"cannot find type \`Item\`"* | *"cannot find type \`Value\`"* | *"cannot find type \`Context\`"* | \
                    *"cannot find macro \`json\`"* | *"cannot find derive macro \`Deserialize\`"* | \
                    *"cannot find derive macro \`Serialize\`"* | *"use of unresolved module or unlinked crate \`log\`"* | \
                    *"use of unresolved module or unlinked crate \`kv\`"* | *"use of unresolved module or unlinked crate \`http\`"*)
                    hint=" (add: use marie::prelude::*;)" ;;
            esac
            printf '%s%s%s\n' "${USER_FILE}" "${rest}" "${hint}"
        done >&2
        return 0
    fi
    main_line="$(grep -a -m 1 -E "^${MAIN_NAME//./\\.}:[0-9]+:[0-9]+: error" "${WORK}/rustc.log" || true)"
    [ -n "${main_line}" ] || return 1
    report_execute_error "${main_line}"
}

if [ "${status}" -ne 0 ]; then
    if [ "${status}" -eq 1 ] && report_errors; then
        exit 1
    fi
    printf 'compile.sh: rustc failed (exit %s):\n' "${status}" >&2
    head -c 65536 "${WORK}/rustc.log" >&2
    exit 70
fi
[ -s "${WORK}/out/node.core.wasm" ] || fail 70 "rustc wrote no module"

# binaryen's size optimisations on top of LLVM's: ~12% smaller.
"${WASM_OPT}" -Oz "${WASM_OPT_FEATURES[@]}" "${WORK}/out/node.core.wasm" -o "${WORK}/out/node.opt.wasm" \
    >"${WORK}/wasm-opt.log" 2>&1 \
    || { printf 'compile.sh: wasm-opt failed:\n' >&2; head -c 65536 "${WORK}/wasm-opt.log" >&2; exit 70; }

# The core module imports wasi_snapshot_preview1 (std's I/O); the adapter
# turns that into WASI 0.2 imports.
"${WASM_TOOLS}" component new "${WORK}/out/node.opt.wasm" \
    --adapt "wasi_snapshot_preview1=${ADAPTER}" -o "${WORK}/node.wasm" >"${WORK}/component.log" 2>&1 \
    || { printf 'compile.sh: wasm-tools component new failed:\n' >&2; head -c 65536 "${WORK}/component.log" >&2; exit 70; }
[ -s "${WORK}/node.wasm" ] || fail 70 "wasm-tools wrote no component"

# Write OUT in one step so that no reader sees half a component.
out_tmp="${OUT}.tmp.$$"
cp -- "${WORK}/node.wasm" "${out_tmp}" || fail 70 "cannot write ${OUT}"
mv -f -- "${out_tmp}" "${OUT}" || { rm -f -- "${out_tmp}"; fail 70 "cannot write ${OUT}"; }
