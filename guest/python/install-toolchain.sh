#!/usr/bin/env bash
# Installs the pinned componentize-py into a virtualenv outside the checkout.
#
# componentize-py (a PyPI wheel with a Rust binary inside) bundles its own
# CPython built for WASI together with the standard library, so the host
# Python only runs the installer; any python3 >= 3.9 with venv will do.
#
# Idempotent: when the venv already has the pinned version this is a quick
# no-op that prints one line.
#
# Environment:
#   MW_PYTHON_TOOLCHAIN  venv directory
#                        (default: python/ under the toolchains root, see
#                        ../toolchains.sh)
#   MW_HOST_PYTHON       interpreter that creates the venv (default
#                        /usr/bin/python3, Debian's: a compile sandbox binds
#                        /usr anyway, while e.g. a pyenv under $HOME is not
#                        there; python3 on PATH when /usr/bin has none)
set -Eeuo pipefail

# Exact pin: the bundled CPython, the generated bindings' shape and the
# WASI version the components import all change between releases.
COMPONENTIZE_PY_VERSION=0.25.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchains.sh
. "${SCRIPT_DIR}/../toolchains.sh"
TOOLCHAIN_DIR="${MW_PYTHON_TOOLCHAIN:-$(mw_toolchains_root)/python}"
if [ -n "${MW_HOST_PYTHON:-}" ]; then
    HOST_PYTHON="${MW_HOST_PYTHON}"
elif [ -x /usr/bin/python3 ]; then
    HOST_PYTHON=/usr/bin/python3
else
    HOST_PYTHON=python3
fi
BIN="${TOOLCHAIN_DIR}/bin/componentize-py"

say() { printf 'install-python-toolchain: %s\n' "$*"; }
die() { printf 'install-python-toolchain: error: %s\n' "$*" >&2; exit 1; }

installed_version() {
    [ -x "${TOOLCHAIN_DIR}/bin/python" ] || return 0
    "${TOOLCHAIN_DIR}/bin/python" - <<'PY' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version("componentize-py"))
except metadata.PackageNotFoundError:
    pass
PY
}

# The venv's interpreter must be the chosen one: a venv links to its base
# interpreter, and the sandbox must be able to see it.
base_python() {
    sed -n 's/^executable = //p' "${TOOLCHAIN_DIR}/pyvenv.cfg" 2>/dev/null || true
}
command -v "${HOST_PYTHON}" >/dev/null || die "${HOST_PYTHON} not found (set MW_HOST_PYTHON)"
want_base="$(readlink -f "$(command -v "${HOST_PYTHON}")")"
have_base="$(base_python)"
if [ -e "${TOOLCHAIN_DIR}" ] && [ "$(readlink -f "${have_base:-/nonexistent}")" != "${want_base}" ]; then
    say "virtualenv ${TOOLCHAIN_DIR} is based on '${have_base}', not ${want_base}: recreating"
    rm -rf -- "${TOOLCHAIN_DIR}"
fi

have="$(installed_version)"
toolchain_id() {
    printf 'componentize-py %s; %s' "${COMPONENTIZE_PY_VERSION}" \
        "$("${TOOLCHAIN_DIR}/bin/python" -c 'import sys; print("python", sys.version.split()[0])')"
}
if [ "${have}" = "${COMPONENTIZE_PY_VERSION}" ] && [ -x "${BIN}" ] \
    && [ "$(cat "${TOOLCHAIN_DIR}/.toolchain-id" 2>/dev/null)" = "$(toolchain_id)" ]; then
    say "componentize-py ${have} present in ${TOOLCHAIN_DIR}"
    exit 0
fi
rm -f -- "${TOOLCHAIN_DIR}/.toolchain-id"

if [ ! -x "${TOOLCHAIN_DIR}/bin/python" ]; then
    if ! "${HOST_PYTHON}" -c 'import ensurepip, venv' 2>/dev/null; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            say "installing Debian package python3-venv"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
        else
            die "${HOST_PYTHON} has no venv/ensurepip (as root: apt-get install python3-venv)"
        fi
    fi
    say "creating virtualenv ${TOOLCHAIN_DIR}"
    mkdir -p "$(dirname "${TOOLCHAIN_DIR}")"
    "${HOST_PYTHON}" -m venv "${TOOLCHAIN_DIR}" \
        || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
say "installing componentize-py==${COMPONENTIZE_PY_VERSION}${have:+ (replacing ${have})}"
"${TOOLCHAIN_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "componentize-py==${COMPONENTIZE_PY_VERSION}" \
    || die "pip install componentize-py==${COMPONENTIZE_PY_VERSION} failed"
"${BIN}" --version >/dev/null || die "${BIN} does not run"
mw_toolchain_publish "${TOOLCHAIN_DIR}" "$(toolchain_id)"
say "componentize-py $(installed_version) installed in ${TOOLCHAIN_DIR}"
