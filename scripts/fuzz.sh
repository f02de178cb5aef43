#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-19, ASan+UBSan) and runs each for
# MW_FUZZ_SECONDS (default 30) on a copy of its seed corpus in fuzz/corpus.
# Findings are written to build-fuzz/crash-*; the script fails if any.
set -Eeuo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MW_FUZZ_BUILD_DIR:-${REPO_DIR}/build-fuzz}"
SECONDS_EACH="${MW_FUZZ_SECONDS:-30}"
cmake -S "$REPO_DIR" -B "$BUILD" -DCMAKE_C_COMPILER=clang-19 -DMW_FUZZ=ON \
      -DMW_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target fuzz_permissions fuzz_request fuzz_host_rules fuzz_component
for name in permissions request host_rules component; do
    max_len=4096
    [ "$name" = component ] && max_len=65536 # seeds are whole components
    work="$BUILD/corpus-$name"
    mkdir -p "$work"
    cp -n "$REPO_DIR/fuzz/corpus/$name/"* "$work/" 2>/dev/null || true
    echo "fuzz: $name for ${SECONDS_EACH}s"
    (cd "$BUILD" && ASAN_OPTIONS=detect_leaks=1 "./fuzz/fuzz_$name" -max_total_time="$SECONDS_EACH" \
        -max_len="$max_len" -print_final_stats=1 "$work" 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY" || true)
done
if [ -n "$(find "$BUILD" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \) -print -quit)" ]; then
    echo "fuzz: findings in $BUILD" >&2
    exit 1
fi
echo "fuzz: no findings"
