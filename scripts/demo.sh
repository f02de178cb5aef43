#!/usr/bin/env bash
# The main job on embedded defaults: sets up and builds everything
# (scripts/setup.sh), then runs real nodes through the marie-wasm CLI: an
# echo, every host capability with and without permission, limits that stop
# runaway guests, and a precompiled artifact. No external service is used.
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MW_BUILD_DIR:-${REPO_DIR}/build}"
MW_BUILD_DIR="${BUILD_DIR}" "${REPO_DIR}/scripts/setup.sh"

MW="${BUILD_DIR}/marie-wasm"
NODES="${BUILD_DIR}/tests/components"
EX="${REPO_DIR}/examples"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }
show() { step "$@"; "${@:2}" || printf '(exit status %d)\n' "$?"; }

"$MW" version
show "What does a node need? (least permissions from its imports)" \
    "$MW" inspect "$NODES/host.wasm"
show "Run a node: items in, items out, with accounting" \
    "$MW" run "$NODES/echo.wasm" --input "$EX/items.json" --stats
show "Every capability, checked against examples/permissions.json (denials are logged by the host)" \
    "$MW" run "$NODES/host.wasm" --input "$EX/host-commands.json" \
    --permissions "$EX/permissions.json" --secrets "$EX/secrets.json"
show "The same node with default permissions: everything denied" \
    "$MW" run "$NODES/host.wasm" --input "$EX/host-commands.json" --quiet
echo '{"timeout_ms": 200, "max_fuel": 100000000000000}' > "$TMP/timeout.json"
show "An infinite loop is stopped at its timeout" \
    "$MW" run "$NODES/loop.wasm" --permissions "$TMP/timeout.json" --stats
echo '{"max_memory_mb": 16}' > "$TMP/mem.json"
show "A memory bomb is stopped at its memory limit" \
    "$MW" run "$NODES/membomb.wasm" --permissions "$TMP/mem.json"
show "Unbounded recursion ends in a stack-overflow trap, not a crash" \
    "$MW" run "$NODES/recurse.wasm"
show "Precompile to a native artifact" \
    "$MW" precompile "$NODES/echo.wasm" -o "$TMP/echo.cwasm"
show "Run the artifact (mapped, not compiled)" \
    "$MW" run "$TMP/echo.cwasm" --input "$EX/items.json"
show "A component that imports something the world does not offer is refused" \
    "$MW" run "$NODES/badimport.wasm"
printf '\nDemo finished. Tests: ./scripts/test.sh\n'
