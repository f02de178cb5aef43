#!/usr/bin/env bash
# run_tests.sh MARIE_WASM [WORKDIR]
#
# Compiles the JavaScript/TypeScript nodes in this directory with
# marie-wasm compile (the sandboxed compiler service running
# guest/javascript/compile.sh) and runs them on the marie-wasm binary given
# as argument, asserting on outputs, logs, events and diagnostics. Prints
# "N passed, N failed"; exits non-zero when a test fails.
#
# Installs the toolchain first (a no-op when present); needs python3.
# A compile takes ~15 s of CPU and so does turning each .wasm into a
# .cwasm; MW_TEST_JOBS (default 2) compiles run side by side.
set -uo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: run_tests.sh MARIE_WASM [WORKDIR]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "${MW}" ] || { echo "run_tests.sh: ${MW} is not executable" >&2; exit 64; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INSTALL="${HERE}/../../../guest/javascript/install-toolchain.sh"
JOBS="${MW_TEST_JOBS:-2}"
if [ $# -eq 2 ]; then
    T="$2"
    mkdir -p "${T}"
else
    T="$(mktemp -d "${TMPDIR:-/tmp}/marie-js-tests.XXXXXX")"
    trap 'rm -rf -- "${T}"' EXIT
fi
T="$(cd "${T}" && pwd)"
# Every compile goes through the compiler service (sandboxed), with a cache
# of this run's own so that each node really is built.
export MW_COMPILE_CACHE_DIR="${T}/compile-cache"
"${INSTALL}"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; shift; [ $# -gt 0 ] && printf '      %s\n' "$@"; }

# check NAME PYTHON_EXPR [LABEL]: the expression sees out (the result JSON or None),
# items (the ok items' json parsed), rc, err (stderr text), logs/events
# (stderr JSON lines) and re.
check() {
    local name="$1" expr="$2" label="${3:+$1: $3}" why
    label="${label:-$1}"
    if why="$(python3 - "${T}/${name}" "${expr}" <<'PY' 2>&1
import json, re, sys
base, expr = sys.argv[1], sys.argv[2]
rc = int(open(base + ".rc").read())
text = open(base + ".out").read()
err = open(base + ".err").read()
try:
    out = json.loads(text)
except ValueError:
    out = None
items = [json.loads(i["json"]) for i in out["ok"]] if isinstance(out, dict) and "ok" in out else None
records = []
for line in err.splitlines():
    try:
        records.append(json.loads(line))
    except ValueError:
        pass
logs = [r for r in records if r.get("type") == "log"]
events = [r for r in records if r.get("type") == "event"]
if not eval(expr):
    print("rc=%d stdout=%s" % (rc, text.strip()[:1500]))
    print("stderr=%s" % err.strip()[:1500])
    sys.exit(1)
PY
    )"; then
        ok "${label}"
    else
        bad "${label}" "${expr}" "${why}"
    fi
}

# run NAME NODE.wasm|cwasm [marie-wasm run options]
run() {
    local name="$1" node="$2"
    shift 2
    (cd "${HERE}" && "${MW}" run "${node}" "$@") >"${T}/${name}.out" 2>"${T}/${name}.err"
    echo $? >"${T}/${name}.rc"
}

# compile SOURCE -> T/<stem>.wasm, T/<stem>.cwasm; status and timing in T/<stem>.compile.*
compile_one() {
    local src="$1" stem="${1%.*}_${1##*.}" start end
    start=$(date +%s.%N)
    (cd "${HERE}" && "${MW}" compile --quiet "${src}" -o "${T}/${stem}.wasm") \
        >"${T}/${stem}.compile.out" 2>"${T}/${stem}.compile.err"
    echo $? >"${T}/${stem}.compile.rc"
    end=$(date +%s.%N)
    echo "${start} ${end}" | awk '{printf "%.1f\n", $2 - $1}' >"${T}/${stem}.compile.time"
    if [ "$(cat "${T}/${stem}.compile.rc")" = 0 ] && [ "${2:-}" = precompile ]; then
        "${MW}" precompile "${T}/${stem}.wasm" -o "${T}/${stem}.cwasm" >/dev/null 2>&1
    fi
}

# ---- compile everything (JOBS at a time) -------------------------------------

GOOD=(seed.js seed.ts capabilities.js exception.js exception.ts modes.js)
BAD=(syntax_error.js type_error.ts missing_execute.js not_exported.js wrong_arity.js
     bad_import.js top_level_error.js top_level_host.js)
echo "compiling ${#GOOD[@]} nodes and ${#BAD[@]} broken ones into ${T} (${JOBS} at a time)"
running=0
for src in "${GOOD[@]}" "${BAD[@]}"; do
    mode=""
    for g in "${GOOD[@]}"; do [ "${g}" = "${src}" ] && [ "${src}" != seed.js ] && mode=precompile; done
    compile_one "${src}" "${mode}" &
    running=$((running + 1))
    if [ "${running}" -ge "${JOBS}" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

for src in "${GOOD[@]}"; do
    stem="${src%.*}_${src##*.}"
    if [ "$(cat "${T}/${stem}.compile.rc")" = 0 ] && [ -s "${T}/${stem}.wasm" ]; then
        ok "compile ${src} ($(cat "${T}/${stem}.compile.time") s, $(stat -c %s "${T}/${stem}.wasm") bytes)"
    else
        bad "compile ${src}" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
done

# ---- the component fits the world: only marie:node/* and wasi:* 0.2 ---------

(cd "${T}" && "${MW}" inspect seed_js.wasm) >"${T}/inspect.out" 2>"${T}/inspect.err"
echo $? >"${T}/inspect.rc"
check inspect 'rc == 0 and out["fits_world"] is True and out["problems"] == [] and all(
    i["name"].startswith("marie:node/") or re.match(r"wasi:(io|clocks|random|cli|filesystem|sockets)/[a-z-]+@0\.2\.\d+$", i["name"])
    for i in out["imports"]) and not any(i["name"].startswith("wasi:http") for i in out["imports"])'

# ---- the README example, from .wasm (first run compiles it) and TypeScript ---

start=$(date +%s.%N)
run seed_js "${T}/seed_js.wasm" --input items.json --stats
end=$(date +%s.%N)
echo "      (run from .wasm, including its compilation: $(echo "${start} ${end}" | awk '{printf "%.1f", $2 - $1}') s)"
check seed_js 'rc == 0 and items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}]'

run seed_ts "${T}/seed_ts.cwasm" --input items.json --context context.json --stats
check seed_ts 'rc == 0 and items == [{"processed": {"n": 1}, "doubled": 2, "node": "js-node"},
    {"processed": {"n": 2}, "doubled": 4, "node": "js-node"}]'
echo "      (run from .cwasm: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["wall_time_ms"])' "${T}/seed_ts.out" 2>/dev/null) ms in the guest)"

# ---- every capability ---------------------------------------------------------

run capabilities "${T}/capabilities_js.cwasm" --input items.json --env config.json \
    --context context.json --permissions perms.json --secrets secrets.json
check capabilities 'rc == 0 and items[0]["secret_allowed"] == "k-123" and items[0]["secret_denied"] is None' "secrets allowed and denied"
check capabilities 'items[0]["kv_text"] == "41" and items[0]["kv_blob"] == [0, 1, 255] and items[0]["kv_after_delete"] is None' "kv put/get/delete under the prefix"
check capabilities 'items[0]["http"].startswith("HttpError: ") and "denied" in items[0]["http"] and items[0]["http_is_HttpError"] is True' "http.fetch to a denied host throws HttpError"
check capabilities 'items[0]["config"] == {"threshold": 3, "name": "demo"} and items[0]["context"] == {
    "workflowId": "wf-1", "executionId": "ex-1", "nodeId": "js-node", "runIndex": 2}' "config and context"
check capabilities 'items[0]["binary_in"] == [None, [0, 1, 2]] and out["ok"][1] == {"json": "{\"has_binary\":true}", "binary": "YWJj"}' "binary in and out"
check capabilities '[(l["level"], l["message"]) for l in logs if l["source"] == "console"] == [
    ("debug", "debug line"), ("info", "info line {\"n\":1}"), ("warn", "warn line"), ("error", "error line")]' "log.debug/info/warn/error"
check capabilities '{(l["source"], l["level"], l["message"]) for l in logs if l["source"] in ("stdout", "stderr")} == {
    ("stdout", "info", "console line from js-node"), ("stderr", "warn", "console error line"),
    ("stderr", "warn", "console warn line"), ("stdout", "info", "console info line")}' "console.log/info/warn/error reach the log"
check capabilities '[(e["event_type"], e["payload"]) for e in events] == [
    ("node.done", "{\"items\":2}"), ("node.note", "plain text payload")]' "events.emit"
check capabilities 'any(l["source"] == "host" and "DB_PASSWORD" in l["message"] and "denied" in l["message"] for l in logs)' "the host logs the denied secret"

# The same node on a SQLite store: the keys it wrote carry kv_prefix "p:".
rm -f "${T}/kv.db"
run capabilities_sqlite "${T}/capabilities_js.cwasm" --input items.json --permissions perms.json \
    --kv "sqlite://${T}/kv.db"
check capabilities_sqlite 'rc == 0 and [(ns, k.startswith(b"p:") and k.endswith(b"blob")) for ns, k in
    __import__("sqlite3").connect(base.rsplit("/", 1)[0] + "/kv.db").execute("SELECT ns, key FROM kv")] == [(b"p:", True)]' \
    "kv keys stored under the prefix"

# ---- exceptions: err + stack with the user's file and lines -------------------

run exception_js "${T}/exception_js.cwasm" --input items.json
check exception_js 'rc == 1 and out == {"err": "TypeError: can'"'"'t access property \"field\", data.missing is undefined"}' "err message"
check exception_js '[l["message"] for l in logs if l["level"] == "error"] == [
    "TypeError: can'"'"'t access property \"field\", data.missing is undefined\n    at parse (exception.js:4:3)\n    at execute (exception.js:8:27)"]' "stack with the user's lines"

run exception_ts "${T}/exception_ts.cwasm" --input items.json
check exception_ts 'rc == 1 and out == {"err": "ValidationError: n is too large: 2"}' "err message"
check exception_ts 'any(re.match(r"ValidationError: n is too large: 2\n    at ValidationError \(exception\.ts:6:\d+\)\n    at check \(exception\.ts:14:\d+\)\n    at execute \(exception\.ts:20:\d+\)$", l["message"]) for l in logs)' "stack with the user's lines"

# ---- what execute may return, async, limits -----------------------------------

mode() {   # mode NAME [run options]: runs modes.js with config {"mode": NAME}
    local m="$1"
    shift
    printf '{"mode": "%s"}' "${m}" >"${T}/mode-${m}.json"
    run "mode_${m}" "${T}/modes_js.cwasm" --env "${T}/mode-${m}.json" "$@"
}
mode values
check mode_values 'rc == 0 and out["ok"] == [{"json": "{\"x\":1,\"y\":2}"}, {"json": "[1,\"two\",null]"},
    {"json": "\"plain string\""}, {"json": "42"}, {"json": "{\"as\":\"object\"}"}, {"json": "[true]", "binary": "AQI="},
    {"json": "{}"}, {"json": "{\"json\":\"1\",\"other\":\"key\"}"}, {"json": "2", "binary": "AgE="}]'
mode echo_binary --input items.json
check mode_echo_binary 'rc == 0 and out["ok"] == [{"json": "{\"n\": 1}"}, {"json": "{\"n\": 2}", "binary": "AAEC"}]'
mode success
check mode_success 'rc == 0 and out == {"ok": [{"json": "1"}]}'
mode error
check mode_error 'rc == 1 and out == {"err": "custom failure"}'
mode err_value
check mode_err_value 'rc == 1 and out == {"err": "{\"code\":7}"}'
mode list
check mode_list 'rc == 1 and "wrap the array" in out["err"]'
mode none
check mode_none 'rc == 1 and out["err"].endswith("got undefined")'
mode ok_not_list
check mode_ok_not_list 'rc == 1 and out["err"] == "the '"'"'ok'"'"' value must be an array of items, got a string"'
mode bigint
check mode_bigint 'rc == 1 and out["err"].startswith("item 0: a bigint cannot be converted to JSON")'
mode bad_json
check mode_bad_json 'rc == 1 and out["err"].startswith("item 0: '"'"'json'"'"' is not valid JSON text")'
mode bad_binary
check mode_bad_binary 'rc == 1 and out["err"] == "item 0: '"'"'binary'"'"' must be a Uint8Array or undefined, not a string"'
mode http_uncaught
check mode_http_uncaught 'rc == 1 and out["err"].startswith("HttpError: ") and any(
    l["level"] == "error" and re.search(r"\n    at execute \(modes\.js:59:\d+\)$", l["message"]) for l in logs)'
mode kv_denied
check mode_kv_denied 'rc == 1 and out["err"] == "KvError: kv.put denied: allow_kv is false"'
mode throw_string
check mode_throw_string 'rc == 1 and out["err"] == "Uncaught just a string"'
mode cause
check mode_cause 'rc == 1 and any("\nCaused by: SyntaxError: " in l["message"] and "(modes.js:68:" in l["message"] for l in logs)'
mode global_fetch
check mode_global_fetch 'rc == 1 and "use http.fetch" in out["err"]'
mode async
check mode_async 'rc == 0 and out == {"ok": [{"json": "{\"awaited\":true}"}]}'
mode async_throw
check mode_async_throw 'rc == 1 and out == {"err": "RangeError: late failure"} and any("(modes.js:85:" in l["message"] for l in logs)'
mode recursion
check mode_recursion 'rc == 1 and out == {"err": "InternalError: too much recursion"} and any(
    "at deep (modes.js:12:" in l["message"] and "repeated" in l["message"] for l in logs)'
mode memory --permissions <(echo '{"max_memory_mb": 128}')
check mode_memory 'out == {"err": "InternalError: out of memory"} or (rc == 2 and out["trap"]["kind"] == "memory_limit")'
mode loop --permissions <(echo '{"timeout_ms": 500}')
check mode_loop 'rc == 2 and out["trap"]["kind"] in ("timeout", "fuel_exhausted")'
printf '{bad' >"${T}/bad-config.json"
run bad_config "${T}/modes_js.cwasm" --env "${T}/bad-config.json"
check bad_config 'rc == 1 and out["err"].startswith("config is not valid JSON: ")'
run no_config "${T}/modes_js.cwasm"
check no_config 'rc == 1 and out == {"err": "unknown mode undefined"}'
mode renamed
check mode_renamed 'rc == 1 and any(re.search(r"\n    at log \(modes\.js:\d+:\d+\)\n    at execute \(modes\.js:", l["message"]) for l in logs)'
mode random
cp "${T}/mode_random.out" "${T}/mode_random.first"
mode random
check mode_random 'rc == 0 and out != json.load(open(base + ".first"))'

# ---- compile errors: exit 1, one diagnostic line with the user's position -----

diag() {   # diag SOURCE REGEX: compile failed with exactly one matching stderr line
    local src="$1" regex="$2" stem="${1%.*}_${1##*.}" rc lines
    rc="$(cat "${T}/${stem}.compile.rc")"
    lines="$(grep -c '' "${T}/${stem}.compile.err")"
    if [ "${rc}" = 1 ] && [ "${lines}" = 1 ] && grep -Eq "${regex}" "${T}/${stem}.compile.err"; then
        ok "diagnostic ${src}: $(cat "${T}/${stem}.compile.err")"
    else
        bad "diagnostic ${src}" "rc=${rc} want ${regex}" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
}
diag syntax_error.js '^syntax_error\.js:5:3: Expected "\}" but found "return"$'
diag type_error.ts "^type_error\.ts:5:9: error TS2322: Type 'number' is not assignable to type 'string'\.$"
diag missing_execute.js "^missing_execute\.js:1:1: no exported function 'execute'; write: export function execute"
diag not_exported.js "^not_exported\.js:2:1: 'execute' is defined but not exported"
diag wrong_arity.js '^wrong_arity\.js:1:1: execute takes 4 parameters, but it is called with 3'
diag bad_import.js '^bad_import\.js:1:30: cannot import "node:fs": a node is one file and can import only "marie"$'
diag top_level_error.js '^top_level_error\.js:3:17: uncaught TypeError: .*table\.b is undefined'
diag top_level_host.js "^top_level_host\.js:3:[0-9]+: uncaught Error: secrets\.get can only be called while execute\(\) runs"

echo "${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
