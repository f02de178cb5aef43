#!/usr/bin/env bash
# The main job on embedded defaults: sets up and builds everything
# (scripts/setup.sh) and installs each language's toolchain (first run only),
# then starts `marie-wasm serve` on 127.0.0.1 with a local artifact store and
# a SQLite KV, compiles the node of examples/nodes in every language through
# the API, runs each without and with permissions (a denied call, then a
# working one), stops a runaway node at its timeout, shows a compile error
# and the service's metrics. A second part shows the same runtime from the
# CLI: limits that stop runaway guests and precompiled artifacts. No
# external service is used; everything lives in a temporary directory.
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MW_BUILD_DIR:-${REPO_DIR}/build}"
MW_BUILD_DIR="${BUILD_DIR}" "${REPO_DIR}/scripts/setup.sh"

for lang in c rust python javascript; do
    echo "demo: ${lang} toolchain (guest/${lang}/install-toolchain.sh; minutes on the first run, then a no-op)"
    "${REPO_DIR}/guest/${lang}/install-toolchain.sh"
done

MW="${BUILD_DIR}/marie-wasm"
NODES="${BUILD_DIR}/tests/components"
EX="${REPO_DIR}/examples"
TMP="$(mktemp -d)"
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step() { bold "$1"; printf '$ %s\n' "${*:2}"; }
show() { step "$@"; "${@:2}" || printf '(exit status %d)\n' "$?"; }

# api METHOD PATH [JSON]: one request to the service, the answer pretty
# printed (long strings shortened) with its HTTP status.
api() {
    local args=(-sS -X "$1" -o "$TMP/body" -w '%{http_code}' "$BASE$2")
    [ $# -ge 3 ] && args+=(-H 'content-type: application/json' --data-binary "$3")
    printf '$ curl -X %s %s%s\n' "$1" "$2" "$([ $# -ge 3 ] && printf " -d '%.100s%s'" "$3" "$([ ${#3} -gt 100 ] && echo ...)")"
    local status
    status="$(curl "${args[@]}")"
    printf 'HTTP %s\n' "$status"
    python3 - "$TMP/body" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
try:
    doc = json.loads(raw)
except ValueError:
    print(raw.decode("utf-8", "replace")[:1500]); sys.exit()
def short(v, key=None):
    if key in ("imports", "exports") and isinstance(v, list):
        return [f'{i.get("name")} ({len(i.get("functions", []))} functions)' for i in v]
    if isinstance(v, dict): return {k: short(x, k) for k, x in v.items()}
    if isinstance(v, list): return [short(x) for x in v]
    if isinstance(v, str) and len(v) > 160: return v[:160] + "..."
    return v
print(json.dumps(short(doc), indent=2, ensure_ascii=False))
EOF
}
# field FILE EXPR: a value from the last answer (python expression on doc).
field() { python3 -c "import json,sys; doc=json.load(open('$TMP/body')); print($1)"; }
compile_body() {
    python3 -c 'import json,sys; print(json.dumps({"language": sys.argv[1], "code": open(sys.argv[2]).read(), "node_id": sys.argv[3], "file_name": sys.argv[2].rsplit("/",1)[-1]}))' "$@"
}

"$MW" version
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:${PORT}"
bold "Start the service on embedded defaults (artifacts in a directory, SQLite KV)"
printf '$ marie-wasm serve --listen 127.0.0.1:%s --data %s\n' "$PORT" "$TMP/data"
"$MW" serve --listen "127.0.0.1:${PORT}" --data "$TMP/data" 2>"$TMP/access.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
api GET /healthz

declare -A ID
ITEMS='[{"json":"{\"name\":\"Ada\"}"},{"json":"{\"name\":\"Grace\"}"}]'
for pair in c:greet.c rust:greet.rs python:greet.py javascript:greet.js; do
    lang="${pair%%:*}" file="${pair#*:}"
    bold "Compile examples/nodes/${file} (${lang}) in the sandbox"
    api POST /v1/compile "$(compile_body "$lang" "$EX/nodes/$file" "greet-$lang")"
    ID[$lang]="$(field 'doc["component_id"]')"
done

for lang in c rust python javascript; do
    bold "Run the ${lang} node with no permissions: its kv.put is denied by the host"
    api POST /v1/execute "{\"component_id\":\"${ID[$lang]}\",\"input\":${ITEMS}}"
    bold "Run it with allow_kv under its own prefix: it counts visits in SQLite"
    perms="{\"allow_kv\":true,\"kv_prefix\":\"demo/greet-${lang}/\"}"
    api POST /v1/execute "{\"component_id\":\"${ID[$lang]}\",\"input\":${ITEMS},\"permissions\":${perms}}"
done
bold "Again: the count went on (the KV is the service's, shared by executions)"
api POST /v1/execute "{\"component_id\":\"${ID[c]}\",\"input\":${ITEMS},\"permissions\":{\"allow_kv\":true,\"kv_prefix\":\"demo/greet-c/\"}}"

bold "HTTP to a host outside the allow-list is refused before any connection"
api POST /v1/execute "{\"component_id\":\"${ID[python]}\",\"input\":${ITEMS},\"config\":{\"url\":\"https://metadata.example.net/secrets\"},\"permissions\":{\"allow_kv\":true,\"kv_prefix\":\"demo/greet-python/\",\"allow_http\":true,\"http_allowed_hosts\":[\"api.example.com\"]}}"

bold "What a component needs: its imports and the least permissions they imply"
api GET "/v1/components/${ID[python]}"

bold "A node that never returns (examples/nodes/spin.js) is stopped at its timeout"
api POST /v1/compile "$(compile_body javascript "$EX/nodes/spin.js" spin)"
spin="$(field 'doc["component_id"]')"
api POST /v1/execute "{\"component_id\":\"${spin}\",\"input\":[],\"permissions\":{\"timeout_ms\":300,\"max_fuel\":1000000000000000}}"

bold "A compile error names the user's own line"
printf 'def execute(items, config, context):\n    return {"ok": [item for item in items]\n' > "$TMP/broken.py"
api POST /v1/compile "$(compile_body python "$TMP/broken.py" broken)"

bold "The service's metrics (Prometheus text; series with values)"
printf '$ curl %s/metrics\n' "$BASE"
curl -sS "$BASE/metrics" | grep -E '^marie_' | grep -v '_bucket' | awk '$NF != "0"'

bold "SIGTERM: the service finishes what it is doing and exits 0"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && echo "service exited 0"
SERVER_PID=
printf 'access log (JSON lines, no secrets), last 3 of %d:\n' "$(wc -l <"$TMP/access.log")"
tail -n 3 "$TMP/access.log"

bold "The same runtime from the CLI"
show "What does a node need? (least permissions from its imports)" \
    "$MW" inspect "$NODES/host.wasm"
show "Every capability, checked against examples/permissions.json (denials are logged by the host)" \
    "$MW" run "$NODES/host.wasm" --input "$EX/host-commands.json" \
    --permissions "$EX/permissions.json" --secrets "$EX/secrets.json"
echo '{"max_memory_mb": 16}' > "$TMP/mem.json"
show "A memory bomb is stopped at its memory limit" \
    "$MW" run "$NODES/membomb.wasm" --permissions "$TMP/mem.json"
show "Unbounded recursion ends in a stack-overflow trap, not a crash" \
    "$MW" run "$NODES/recurse.wasm"
show "Precompile to a native artifact" \
    "$MW" precompile "$NODES/echo.wasm" -o "$TMP/echo.cwasm"
show "Run the artifact (mapped, not compiled)" \
    "$MW" run "$TMP/echo.cwasm" --input "$EX/items.json" --stats
show "A component that imports something the world does not offer is refused" \
    "$MW" run "$NODES/badimport.wasm"
printf '\nDemo finished. Tests: ./scripts/test.sh\n'
