#!/usr/bin/env bash
# Installs the servers the tests run against that Debian does not package:
# moto, an S3-compatible server (tests/test_storage_s3.c starts it on
# 127.0.0.1), in a Python venv outside the checkout; and pytest,
# pytest-asyncio and mypy for the Python package (python/), in another.
#
# Idempotent: a second run only checks the pinned version and prints one line.
#
# Environment:
#   MW_S3_VENV   the venv (default $HOME/.cache/marie-wasm/s3-venv);
#                tests/test_storage_s3.c reads the same variable (or
#                MW_TEST_MOTO_SERVER, the path of moto_server itself)
#   MW_PY_VENV   the Python package's test venv (default
#                $HOME/.cache/marie-wasm/py-venv); python/tests/run.sh reads it
#   MW_BENCH_VENV  wasmtime-py for bench/bench_python.py (default
#                $HOME/.cache/marie-wasm/bench-venv)
#   MW_API_VENV  schemathesis, jsonschema and PyYAML, with which
#                tests/test_serve.py checks the HTTP service against
#                docs/openapi.yaml (default $HOME/.cache/marie-wasm/api-venv);
#                the test reads the same variable
set -Eeuo pipefail

# Exact pin: the test relies on moto's IAM checks and error bodies.
MOTO_VERSION=5.2.5

MW_S3_VENV="${MW_S3_VENV:-${HOME}/.cache/marie-wasm/s3-venv}"

say() { printf 'install-test-tools: %s\n' "$*"; }
die() { printf 'install-test-tools: error: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line ${LINENO}: ${BASH_COMMAND}"' ERR

# The Python package's test tools (python/tests/run.sh, ctest test_python),
# exact pins, in their own venv (MW_PY_VENV, default
# $HOME/.cache/marie-wasm/py-venv). setuptools >= 70.1 lets a test build
# the package's wheel without network access.
MW_PY_VENV="${MW_PY_VENV:-${HOME}/.cache/marie-wasm/py-venv}"
PY_TEST_PINS="pytest==9.0.3 pytest-asyncio==1.4.0 mypy==2.4.0 setuptools==80.9.0"
py_pins_installed() {
    "${MW_PY_VENV}/bin/python" -c 'import importlib.metadata as m, sys
print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))' \
        pytest pytest-asyncio mypy setuptools 2>/dev/null || true
}
if [ "$(py_pins_installed)" = "$PY_TEST_PINS" ]; then
    say "python test tools already installed in ${MW_PY_VENV}"
else
    command -v python3 >/dev/null || die "python3 not found"
    if [ -d "$MW_PY_VENV" ] && ! "${MW_PY_VENV}/bin/python" -c '' 2>/dev/null; then
        rm -rf "$MW_PY_VENV"
    fi
    [ -x "${MW_PY_VENV}/bin/python" ] || python3 -m venv "$MW_PY_VENV" \
        || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    say "installing ${PY_TEST_PINS} into ${MW_PY_VENV}"
    # shellcheck disable=SC2086 # the pins are separate words
    "${MW_PY_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check $PY_TEST_PINS \
        || die "pip install ${PY_TEST_PINS} failed"
    [ "$(py_pins_installed)" = "$PY_TEST_PINS" ] || die "python test tools: got '$(py_pins_installed)'"
fi

# bench/bench_python.py's reference path: wasmtime-py (wasmtime.component),
# exact pin on the Wasmtime major the library builds (third_party/wasmtime),
# in its own venv (MW_BENCH_VENV, default $HOME/.cache/marie-wasm/bench-venv).
# Only the benchmark needs it: a failure here warns and goes on.
MW_BENCH_VENV="${MW_BENCH_VENV:-${HOME}/.cache/marie-wasm/bench-venv}"
WASMTIME_PY_VERSION=48.0.0
bench_pin_installed() {
    "${MW_BENCH_VENV}/bin/python" -c 'import importlib.metadata as m; print(m.version("wasmtime"))' \
        2>/dev/null || true
}
if [ "$(bench_pin_installed)" = "$WASMTIME_PY_VERSION" ]; then
    say "wasmtime-py ${WASMTIME_PY_VERSION} already installed in ${MW_BENCH_VENV}"
elif { [ -x "${MW_BENCH_VENV}/bin/python" ] || python3 -m venv "$MW_BENCH_VENV"; } \
    && "${MW_BENCH_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "wasmtime==${WASMTIME_PY_VERSION}"; then
    say "installed wasmtime-py ${WASMTIME_PY_VERSION} into ${MW_BENCH_VENV}"
else
    say "warning: wasmtime-py ${WASMTIME_PY_VERSION} not installed (only bench/bench_python.py needs it)"
fi

# tests/test_serve.py: the service against docs/openapi.yaml. Exact pins, so
# the test's verdicts do not change under it.
MW_API_VENV="${MW_API_VENV:-${HOME}/.cache/marie-wasm/api-venv}"
API_TEST_PINS="schemathesis==4.32.5 jsonschema==4.26.0 PyYAML==6.0.3"
api_pins_installed() {
    "${MW_API_VENV}/bin/python" -c 'import importlib.metadata as m, sys
print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))' \
        schemathesis jsonschema PyYAML 2>/dev/null || true
}
if [ "$(api_pins_installed)" = "$API_TEST_PINS" ]; then
    say "API test tools already installed in ${MW_API_VENV}"
else
    if [ -d "$MW_API_VENV" ] && ! "${MW_API_VENV}/bin/python" -c '' 2>/dev/null; then
        rm -rf "$MW_API_VENV"
    fi
    [ -x "${MW_API_VENV}/bin/python" ] || python3 -m venv "$MW_API_VENV" \
        || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    say "installing ${API_TEST_PINS} into ${MW_API_VENV}"
    # shellcheck disable=SC2086 # the pins are separate words
    "${MW_API_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check $API_TEST_PINS \
        || die "pip install ${API_TEST_PINS} failed"
    [ "$(api_pins_installed)" = "$API_TEST_PINS" ] || die "API test tools: got '$(api_pins_installed)'"
fi

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
