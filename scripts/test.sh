#!/usr/bin/env bash
# Runs every test: sets up and builds (scripts/setup.sh), runs the suite with
# warnings as errors, then again built with ASan+UBSan, and the core tests
# under valgrind (labelled "valgrind" in CTest).
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MW_BUILD_DIR:-${REPO_DIR}/build}"
ASAN_DIR="${MW_ASAN_BUILD_DIR:-${REPO_DIR}/build-asan}"
JOBS="$(nproc)"

MW_BUILD_DIR="${BUILD_DIR}" MW_CMAKE_ARGS="-DMW_WERROR=ON" "${REPO_DIR}/scripts/setup.sh"

echo "test: suite (RelWithDebInfo, includes valgrind runs of the core tests)"
ctest --test-dir "${BUILD_DIR}" --output-on-failure -j"${JOBS}"

echo "test: suite under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "${REPO_DIR}" -B "${ASAN_DIR}" -DCMAKE_BUILD_TYPE=Debug -DMW_SANITIZE=ON -DMW_WERROR=ON >/dev/null
cmake --build "${ASAN_DIR}" -j"${JOBS}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "${ASAN_DIR}" --output-on-failure -j"${JOBS}" -LE valgrind

echo "test: short fuzzing run of the parsers (scripts/fuzz.sh; longer runs: MW_FUZZ_SECONDS)"
MW_FUZZ_SECONDS="${MW_FUZZ_SECONDS:-10}" "${REPO_DIR}/scripts/fuzz.sh"
