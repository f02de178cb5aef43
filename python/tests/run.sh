#!/bin/sh
# The Python package's checks, as ctest's test_python runs them:
# mypy --strict over the package and tests, then pytest (arguments are
# passed on to pytest). Uses the venv scripts/install-test-tools.sh makes;
# exits 77 (ctest: skipped) when it is missing.
#
# Environment: MW_PY_VENV (default $HOME/.cache/marie-wasm/py-venv),
# MARIE_WASM_LIB (the library under test), MW_TEST_COMPONENTS.
set -eu
venv="${MW_PY_VENV:-${HOME}/.cache/marie-wasm/py-venv}"
if [ ! -x "${venv}/bin/pytest" ] || [ ! -x "${venv}/bin/mypy" ]; then
    echo "python/tests/run.sh: no pytest/mypy in ${venv}; run scripts/install-test-tools.sh" >&2
    exit 77
fi
cd "$(dirname "$0")/.."
"${venv}/bin/python" -m mypy
exec "${venv}/bin/python" -m pytest -p no:cacheprovider "$@"
