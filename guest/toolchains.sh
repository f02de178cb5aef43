# toolchains.sh - sourced by guest/*/install-toolchain.sh and compile.sh:
# where the guest toolchains live, by the same rule as the compiler service
# (src/compiler/compiler.c).
#
# MW_TOOLCHAINS_DIR when set; else /opt/marie-wasm/toolchains for root,
# because compiles run sandboxed as uid nobody, which cannot read root's
# home; else $HOME/.cache/marie-wasm/toolchains (the sandbox then runs as
# that same user). One directory per language below it.

mw_toolchains_root() {
    if [ -n "${MW_TOOLCHAINS_DIR:-}" ]; then
        printf '%s\n' "${MW_TOOLCHAINS_DIR}"
    elif [ "$(id -u)" -eq 0 ]; then
        printf '/opt/marie-wasm/toolchains\n'
    else
        printf '%s/.cache/marie-wasm/toolchains\n' "${HOME:-/nonexistent}"
    fi
}

# mw_toolchain_publish DIR ID: makes DIR readable by everyone (the sandbox
# uid must read it) and writes its identity, which the compile cache keys
# on, as DIR/.toolchain-id (atomically: last, once everything is in place).
mw_toolchain_publish() {
    chmod -R a+rX -- "$1"
    printf '%s\n' "$2" >"$1/.toolchain-id.tmp"
    chmod 644 "$1/.toolchain-id.tmp"
    mv -f -- "$1/.toolchain-id.tmp" "$1/.toolchain-id"
}
