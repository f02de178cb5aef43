#!/usr/bin/env bash
# Installs the servers the tests run against that Debian does not package:
# moto, an S3-compatible server (tests/test_storage_s3.c starts it on
# 127.0.0.1), in a Python venv outside the checkout.
#
# Idempotent: a second run only checks the pinned version and prints one line.
#
# Environment:
#   MW_S3_VENV   the venv (default $HOME/.cache/marie-wasm/s3-venv);
#                tests/test_storage_s3.c reads the same variable (or
#                MW_TEST_MOTO_SERVER, the path of moto_server itself)
set -Eeuo pipefail

# Exact pin: the test relies on moto's IAM checks and error bodies.
MOTO_VERSION=5.2.5

MW_S3_VENV="${MW_S3_VENV:-${HOME}/.cache/marie-wasm/s3-venv}"

say() { printf 'install-test-tools: %s\n' "$*"; }
die() { printf 'install-test-tools: error: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line ${LINENO}: ${BASH_COMMAND}"' ERR

installed_moto() {
    "${MW_S3_VENV}/bin/python" -c \
        'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true
}

have="$(installed_moto)"
if [ "$have" = "$MOTO_VERSION" ] && [ -x "${MW_S3_VENV}/bin/moto_server" ]; then
    say "moto ${MOTO_VERSION} already installed in ${MW_S3_VENV}"
    exit 0
fi

command -v python3 >/dev/null || die "python3 not found"
# A venv whose interpreter is gone (python upgraded) cannot be repaired.
if [ -d "$MW_S3_VENV" ] && ! "${MW_S3_VENV}/bin/python" -c '' 2>/dev/null; then
    say "removing broken venv ${MW_S3_VENV}"
    rm -rf "$MW_S3_VENV"
fi
if [ ! -x "${MW_S3_VENV}/bin/python" ]; then
    mkdir -p "$(dirname "$MW_S3_VENV")"
    python3 -m venv "$MW_S3_VENV" \
        || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
say "installing moto[server] ${MOTO_VERSION} into ${MW_S3_VENV} (found: ${have:-none})"
"${MW_S3_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==${MOTO_VERSION}" || die "pip install moto[server]==${MOTO_VERSION} failed"
have="$(installed_moto)"
[ "$have" = "$MOTO_VERSION" ] || die "moto reports version '${have}', expected ${MOTO_VERSION}"
[ -x "${MW_S3_VENV}/bin/moto_server" ] || die "moto_server missing from ${MW_S3_VENV}/bin"
say "done; ${MW_S3_VENV}/bin/moto_server"
