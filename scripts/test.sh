#!/usr/bin/env bash
# Runs every test: sets up and builds (scripts/setup.sh), runs the suite with
# warnings as errors, then again built with ASan+UBSan, and the core tests
# under valgrind (labelled "valgrind" in CTest); then each guest language end
# to end (toolchain installed on first use, every node compiled by the
# sandboxed compiler service and run), and a short fuzzing run.
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MW_BUILD_DIR:-${REPO_DIR}/build}"
ASAN_DIR="${MW_ASAN_BUILD_DIR:-${REPO_DIR}/build-asan}"
JOBS="$(nproc)"

MW_BUILD_DIR="${BUILD_DIR}" MW_CMAKE_ARGS="-DMW_WERROR=ON" "${REPO_DIR}/scripts/setup.sh"

# Every language's toolchain, before the suite: the Python package's tests
# compile real nodes too. Each install is a quick no-op when present.
for lang in c rust python javascript; do
    "${REPO_DIR}/guest/${lang}/install-toolchain.sh"
done

echo "test: suite (RelWithDebInfo, includes valgrind runs of the core tests)"
ctest --test-dir "${BUILD_DIR}" --output-on-failure -j"${JOBS}"

echo "test: suite under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "${REPO_DIR}" -B "${ASAN_DIR}" -DCMAKE_BUILD_TYPE=Debug -DMW_SANITIZE=ON -DMW_WERROR=ON >/dev/null
cmake --build "${ASAN_DIR}" -j"${JOBS}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "${ASAN_DIR}" --output-on-failure -j"${JOBS}" -LE valgrind

# One language at a time: a compile uses both cores.
for lang in c rust python javascript; do
    echo "test: the ${lang} language path (tests/guest/${lang}/run_tests.sh)"
    "${REPO_DIR}/tests/guest/${lang}/run_tests.sh" "${BUILD_DIR}/marie-wasm"
done
echo "test: user code that attacks its own build is contained (tests/guest/escape)"
"${REPO_DIR}/tests/guest/escape/run_tests.sh" "${BUILD_DIR}/marie-wasm"
echo "test: marie-wasm new scaffolds a working node in every language"
"${REPO_DIR}/tests/guest/new_nodes.sh" "${BUILD_DIR}/marie-wasm"

echo "test: short fuzzing run of the parsers (scripts/fuzz.sh; longer runs: MW_FUZZ_SECONDS)"
MW_FUZZ_SECONDS="${MW_FUZZ_SECONDS:-10}" "${REPO_DIR}/scripts/fuzz.sh"
