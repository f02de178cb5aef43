#!/usr/bin/env bash
# Prepares the toolchain for C nodes in MW_C_TOOLCHAIN: everything a
# compile needs that can be made ahead of time, so that compile.sh only
# compiles the user's file, links and runs `wasm-tools component new`.
#
#   include/marie.h                 the SDK header (users see only this)
#   bindings/node.h, node.c         wit-bindgen c output for world `node`
#   lib/node.o, lib/node_component_type.o
#                                   the bindings, compiled once
#   lib/marie.o                     the SDK and the export glue (marie.c)
#   lib/link.args                   the wasm-ld command line (see below)
#   bin/clang, bin/wasm-ld          links to the host's clang-19 and its linker
#   bin/wasm-tools                  copy of the pinned wasm-tools
#   wasi_snapshot_preview1.reactor.wasm   copy of the WASI adapter
#   clang-version, clang.stat, wit.sha256
#                                   what compile.sh checks it runs with
#   .toolchain-id                   one line naming all of the above; it
#                                   changes whenever any of it changes
#
# The Debian packages (clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32),
# wit-bindgen, wasm-tools and the adapter come from
# scripts/install-guest-tools.sh, which this calls when one of them is
# missing or not the pinned version.
#
# Idempotent: when the toolchain matches its inputs this is a quick no-op
# that prints one line. A rebuild is made next to the old toolchain, tested
# by compiling a node with HOME unset, and swapped in with a rename, so a
# compile running meanwhile sees one or the other; concurrent runs take
# turns (flock on MW_C_TOOLCHAIN.lock). Everything is made world-readable:
# a compile sandbox runs as another uid.
#
# Environment:
#   MW_C_TOOLCHAIN  the toolchain dir (default: c/ under the toolchains root
#                   of ../toolchains.sh, i.e. /opt/marie-wasm/toolchains/c for
#                   root, ~/.cache/marie-wasm/toolchains/c otherwise;
#                   $HOME/.cache/marie-wasm/c-toolchain without that file)
#   MW_TOOLS_DIR    where install-guest-tools.sh puts wit-bindgen, wasm-tools
#                   and the adapter (default $HOME/.cache/marie-wasm/tools)
#   MW_WIT_DIR      directory of marie-node.wit (default: ../../wit from here)
#   MW_C_CC         the clang to use (default clang-19)
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/../.." && pwd)"
if [ -f "${SCRIPT_DIR}/../toolchains.sh" ]; then
    # shellcheck source=../toolchains.sh
    . "${SCRIPT_DIR}/../toolchains.sh"
    TOOLCHAIN_DIR="${MW_C_TOOLCHAIN:-$(mw_toolchains_root)/c}"
else
    TOOLCHAIN_DIR="${MW_C_TOOLCHAIN:-${HOME}/.cache/marie-wasm/c-toolchain}"
fi
TOOLS_DIR="${MW_TOOLS_DIR:-${HOME}/.cache/marie-wasm/tools}"
WIT_DIR="${MW_WIT_DIR:-${REPO_DIR}/wit}"
CC_NAME="${MW_C_CC:-clang-19}"
STACK_BYTES=$((1024 * 1024))   # the node's C stack (in linear memory)
DEB_PACKAGES=(clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)
# Flags for the SDK and the bindings; compile.sh has the user's.
SDK_CFLAGS=(--target=wasm32-wasi -O2 -std=c11 -Wall -Wextra -Werror=return-type -ffunction-sections -fdata-sections)

say() { printf 'install-c-toolchain: %s\n' "$*"; }
die() { printf 'install-c-toolchain: error: %s\n' "$*" >&2; exit 1; }

WIT_BINDGEN="${TOOLS_DIR}/bin/wit-bindgen"
WASM_TOOLS="${TOOLS_DIR}/bin/wasm-tools"
ADAPTER="${TOOLS_DIR}/wasi_snapshot_preview1.reactor.wasm"

short_sum() { sha256sum "$@" | sha256sum | cut -c1-16; }

debs_present() {
    local pkg
    command -v dpkg-query >/dev/null || return 0   # not Debian: trust the tools below
    for pkg in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'install ok installed' || return 1
    done
}

tools_present() {
    command -v "${CC_NAME}" >/dev/null && [ -x "${WIT_BINDGEN}" ] && [ -x "${WASM_TOOLS}" ] \
        && [ -f "${ADAPTER}" ]
}

# Whether wit-bindgen and wasm-tools have the versions install-guest-tools.sh pins.
tools_pinned() {
    local guest="${REPO_DIR}/scripts/install-guest-tools.sh" want_wb want_wt
    want_wb="$(sed -n 's/^WIT_BINDGEN_VERSION=//p' "${guest}")"
    want_wt="$(sed -n 's/^WASM_TOOLS_VERSION=//p' "${guest}")"
    [ -n "${want_wb}" ] && [ -n "${want_wt}" ] \
        && [ "$("${WIT_BINDGEN}" --version 2>/dev/null | awk '{print $2}')" = "${want_wb}" ] \
        && [ "$("${WASM_TOOLS}" --version 2>/dev/null | awk '{print $2}')" = "${want_wt}" ]
}

# The line written to .toolchain-id for the current inputs: clang (and the
# wasi-libc / compiler-rt files it links), wit-bindgen, wasm-tools, the
# adapter, the WIT and the SDK + compile script.
toolchain_id() {
    local cc libc crt builtins
    cc="$(command -v "${CC_NAME}")"
    libc="$("${cc}" --target=wasm32-wasi -print-file-name=libc.a)"
    crt="$("${cc}" --target=wasm32-wasi -print-file-name=crt1-reactor.o)"
    builtins="$("${cc}" --target=wasm32-wasi -print-libgcc-file-name)"
    [ -f "${libc}" ] && [ -f "${crt}" ] && [ -f "${builtins}" ] \
        || die "${cc} finds no wasi-libc/compiler-rt for wasm32-wasi (Debian: wasi-libc libclang-rt-19-dev-wasm32)"
    printf 'clang %s; %s; %s; libc %s; adapter %s; wit %s; sdk %s\n' \
        "$("${cc}" --version | head -n 1 | sed 's/^.*clang version //')" \
        "$("${WIT_BINDGEN}" --version)" "$("${WASM_TOOLS}" --version)" \
        "$(short_sum "${libc}" "${crt}" "${builtins}")" "$(short_sum "${ADAPTER}")" \
        "$(short_sum "${WIT_DIR}/marie-node.wit")" \
        "$(short_sum "${SCRIPT_DIR}/marie.h" "${SCRIPT_DIR}/marie.c" "${SCRIPT_DIR}/compile.sh" \
            "${SCRIPT_DIR}/install-toolchain.sh")"
}

toolchain_complete() {
    local f
    for f in include/marie.h lib/marie.o lib/node.o lib/node_component_type.o lib/link.args bin/clang \
        bin/wasm-ld bin/wasm-tools wasi_snapshot_preview1.reactor.wasm clang-version clang.stat wit.sha256 \
        .toolchain-id; do
        [ -e "${TOOLCHAIN_DIR}/${f}" ] || return 1
    done
}

[ -f "${WIT_DIR}/marie-node.wit" ] || die "${WIT_DIR}/marie-node.wit not found (set MW_WIT_DIR)"
WIT_DIR="$(cd "${WIT_DIR}" && pwd)"

if debs_present && tools_present && toolchain_complete \
    && [ "$(cat "${TOOLCHAIN_DIR}/.toolchain-id")" = "$(toolchain_id)" ]; then
    say "present in ${TOOLCHAIN_DIR}: $(cat "${TOOLCHAIN_DIR}/.toolchain-id")"
    exit 0
fi

# Debian packages, wit-bindgen, wasm-tools and the adapter, when one is
# missing or not the pinned version (install-guest-tools.sh needs cargo;
# rebuilding only the SDK does not). A changed third_party/adapter is
# picked up by running scripts/install-guest-tools.sh.
if ! { debs_present && tools_present && tools_pinned; }; then
    MW_TOOLS_DIR="${TOOLS_DIR}" "${REPO_DIR}/scripts/install-guest-tools.sh" \
        || die "scripts/install-guest-tools.sh failed"
    tools_present && tools_pinned || die "the guest tools are still missing after install-guest-tools.sh"
fi

# One build at a time (a second waits, then finds the toolchain ready).
if command -v flock >/dev/null; then
    mkdir -p "$(dirname "${TOOLCHAIN_DIR}")"
    exec 9>"${TOOLCHAIN_DIR}.lock"
    flock 9
    if toolchain_complete && [ "$(cat "${TOOLCHAIN_DIR}/.toolchain-id")" = "$(toolchain_id)" ]; then
        say "present in ${TOOLCHAIN_DIR}: $(cat "${TOOLCHAIN_DIR}/.toolchain-id")"
        exit 0
    fi
fi
CC_PATH="$(readlink -f "$(command -v "${CC_NAME}")")"
# The linker clang runs; compile.sh names it with -fuse-ld, as a sandbox
# may have no PATH. The link keeps the name wasm-ld (lld picks its flavour
# by the name it is called with).
LD_PATH="$(dirname "${CC_PATH}")/wasm-ld"
[ -x "${LD_PATH}" ] || LD_PATH="$(command -v wasm-ld-19 || command -v wasm-ld || true)"
[ -n "${LD_PATH}" ] && [ -x "${LD_PATH}" ] || die "wasm-ld not found (Debian: lld-19)"

ID="$(toolchain_id)"
NEW="${TOOLCHAIN_DIR}.new.$$"
OLD="${TOOLCHAIN_DIR}.old.$$"
rm -rf -- "${NEW}"
trap 'rm -rf -- "${NEW}"' EXIT
mkdir -p "${NEW}/include" "${NEW}/bindings" "${NEW}/lib" "${NEW}/bin"
say "building the C toolchain in ${TOOLCHAIN_DIR}"

cp -- "${SCRIPT_DIR}/marie.h" "${NEW}/include/marie.h"
"${WIT_BINDGEN}" c --world node --out-dir "${NEW}/bindings" "${WIT_DIR}" >"${NEW}/wit-bindgen.log" 2>&1 \
    || { cat "${NEW}/wit-bindgen.log" >&2; die "wit-bindgen c failed"; }
rm -f -- "${NEW}/wit-bindgen.log"
mv -- "${NEW}/bindings/node_component_type.o" "${NEW}/lib/"
"${CC_PATH}" "${SDK_CFLAGS[@]}" -w -c "${NEW}/bindings/node.c" -o "${NEW}/lib/node.o" \
    || die "compiling the bindings failed"
"${CC_PATH}" "${SDK_CFLAGS[@]}" -Wpedantic -Werror -I "${NEW}/include" -I "${NEW}/bindings" \
    -c "${SCRIPT_DIR}/marie.c" -o "${NEW}/lib/marie.o" \
    || die "compiling marie.c failed"
ln -s "${CC_PATH}" "${NEW}/bin/clang"
ln -s "${LD_PATH}" "${NEW}/bin/wasm-ld"

# The link: compile.sh runs wasm-ld itself with the arguments clang's
# driver would give it (clang -###: crt1-reactor.o, wasi-libc, compiler-rt),
# which saves the driver's start-up (~70 ms) on every node. One argument a
# line; @TC@, @USER_OBJ@ and @OUT@ are filled in by compile.sh.
#   reactor: no main; crt1-reactor.o runs constructors (_initialize).
#   --stack-first: the stack lies below the data, so overflowing it traps
#     (an access below address 0) instead of overwriting globals.
#   --strip-debug: debug info goes, the name section stays (trap
#     backtraces show function names).
LINK_FLAGS=(--target=wasm32-wasi -mexec-model=reactor "-fuse-ld=${NEW}/bin/wasm-ld" -Wl,--stack-first
    "-Wl,-z,stack-size=${STACK_BYTES}" -Wl,--strip-debug -Wl,--gc-sections)
: >"${NEW}/@USER_OBJ@"
link_line="$("${CC_PATH}" -### "${LINK_FLAGS[@]}" "${NEW}/@USER_OBJ@" "${NEW}/lib/marie.o" "${NEW}/lib/node.o" \
    "${NEW}/lib/node_component_type.o" -o "${NEW}/@OUT@" 2>&1 | tail -n 1)"
rm -f -- "${NEW}/@USER_OBJ@"
eval "link_args=(${link_line})"   # our clang's own quoting of our own paths
[ "${link_args[0]:-}" = "${NEW}/bin/wasm-ld" ] || die "unexpected link command from clang -###: ${link_line}"
for arg in "${link_args[@]}"; do
    arg="${arg//"${NEW}/@USER_OBJ@"/@USER_OBJ@}"
    arg="${arg//"${NEW}/@OUT@"/@OUT@}"
    printf '%s\n' "${arg//"${NEW}"/@TC@}"
done >"${NEW}/lib/link.args"
cp -- "${WASM_TOOLS}" "${NEW}/bin/wasm-tools"
cp -- "${ADAPTER}" "${NEW}/wasi_snapshot_preview1.reactor.wasm"
"${CC_PATH}" --version | head -n 1 >"${NEW}/clang-version"
stat -L -c '%s %Y' "${CC_PATH}" >"${NEW}/clang.stat"   # compile.sh's cheap staleness check
sha256sum <"${WIT_DIR}/marie-node.wit" | cut -d' ' -f1 >"${NEW}/wit.sha256"
chmod -R go-w "${NEW}"
if declare -F mw_toolchain_publish >/dev/null; then
    mw_toolchain_publish "${NEW}" "${ID}"
else
    chmod -R a+rX "${NEW}"
    printf '%s\n' "${ID}" >"${NEW}/.toolchain-id"
fi

# Smoke test: one node through the new toolchain, read-only and offline
# like in the sandbox.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/marie-c-smoke.XXXXXX")"
printf '%s\n' \
    'marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx) {' \
    '    (void)config; (void)ctx;' \
    '    return marie_pushf(marie_ok(), "{\"count\":%zu}", input->count);' \
    '}' >"${tmp}/smoke.c"
if ! env -u HOME MW_C_TOOLCHAIN="${NEW}" MW_WIT_DIR="${WIT_DIR}" \
    "${SCRIPT_DIR}/compile.sh" "${tmp}/smoke.c" "${tmp}/smoke.wasm" "${tmp}/work" >"${tmp}/log" 2>&1; then
    cat "${tmp}/log" >&2
    rm -rf -- "${tmp}"
    die "compiling a test node with the new toolchain failed"
fi
rm -rf -- "${tmp}"

if [ -e "${TOOLCHAIN_DIR}" ]; then
    mv -- "${TOOLCHAIN_DIR}" "${OLD}"
fi
mv -- "${NEW}" "${TOOLCHAIN_DIR}"
rm -rf -- "${OLD}"
trap - EXIT
say "ready: ${ID}"
