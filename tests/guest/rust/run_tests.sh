#!/usr/bin/env bash
# run_tests.sh MARIE_WASM [WORKDIR]
#
# Compiles the Rust nodes in this directory with guest/rust/compile.sh and
# runs them on the marie-wasm binary given as argument, asserting on
# outputs, logs, events, traps, diagnostics and component sizes. Prints
# "N passed, N failed"; exits non-zero when a test fails.
#
# Needs the toolchain (guest/rust/install-toolchain.sh; MW_RUST_TOOLCHAIN
# is passed on to compile.sh) and python3. A compile takes ~4 s;
# MW_TEST_JOBS (default 2) compiles run side by side.
set -uo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: run_tests.sh MARIE_WASM [WORKDIR]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "${MW}" ] || { echo "run_tests.sh: ${MW} is not executable" >&2; exit 64; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COMPILE="$(cd "${HERE}/../../../guest/rust" && pwd)/compile.sh"
JOBS="${MW_TEST_JOBS:-2}"
# The size budget of the smallest node (measured: ~95 KB) and of any node.
HELLO_MAX_BYTES=120000
ANY_MAX_BYTES=200000
if [ $# -eq 2 ]; then
    T="$2"
    mkdir -p "${T}"
else
    T="$(mktemp -d "${TMPDIR:-/tmp}/marie-rust-tests.XXXXXX")"
    trap 'rm -rf -- "${T}"' EXIT
fi
T="$(cd "${T}" && pwd)"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; shift; [ $# -gt 0 ] && printf '      %s\n' "$@"; }

# check NAME PYTHON_EXPR [LABEL]: the expression sees out (the result JSON or
# None), items (the ok items' json parsed), rc, err (stderr text),
# logs/events (stderr JSON lines) and re.
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

# compile SOURCE -> T/<stem>.wasm; status and timing in T/<stem>.compile.*
compile_one() {
    local src="$1" stem="${1%.rs}" start end
    start=$(date +%s.%N)
    (cd "${HERE}" && "${COMPILE}" "${src}" "${T}/${stem}.wasm" "${T}/work-${stem}") \
        >"${T}/${stem}.compile.out" 2>"${T}/${stem}.compile.err"
    echo $? >"${T}/${stem}.compile.rc"
    end=$(date +%s.%N)
    echo "${start} ${end}" | awk '{printf "%.1f\n", $2 - $1}' >"${T}/${stem}.compile.time"
}

# ---- compile everything (JOBS at a time) -------------------------------------

GOOD=(hello.rs scale.rs capabilities.rs typed.rs modes.rs values.rs bad_output.rs fetch.rs)
BAD=(syntax_error.rs type_error.rs missing_execute.rs not_public.rs wrong_signature.rs
     wrong_arity.rs wrong_return.rs private_type.rs no_prelude.rs second_file.rs)
echo "compiling ${#GOOD[@]} nodes and ${#BAD[@]} broken ones into ${T} (${JOBS} at a time)"
running=0
for src in "${GOOD[@]}" "${BAD[@]}"; do
    compile_one "${src}" &
    running=$((running + 1))
    if [ "${running}" -ge "${JOBS}" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

for src in "${GOOD[@]}"; do
    stem="${src%.rs}"
    if [ "$(cat "${T}/${stem}.compile.rc")" = 0 ] && [ -s "${T}/${stem}.wasm" ]; then
        size="$(stat -c %s "${T}/${stem}.wasm")"
        if [ "${size}" -le "${ANY_MAX_BYTES}" ]; then
            ok "compile ${src} ($(cat "${T}/${stem}.compile.time") s, ${size} bytes)"
        else
            bad "compile ${src}: ${size} bytes, more than ${ANY_MAX_BYTES}"
        fi
    else
        bad "compile ${src}" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
done

# ---- size, and the component fits the world -----------------------------------

size="$(stat -c %s "${T}/hello.wasm" 2>/dev/null || echo 0)"
if [ "${size}" -gt 0 ] && [ "${size}" -le "${HELLO_MAX_BYTES}" ]; then
    ok "hello.wasm is ${size} bytes (budget ${HELLO_MAX_BYTES})"
else
    bad "hello.wasm is ${size} bytes (budget ${HELLO_MAX_BYTES})"
fi

(cd "${T}" && "${MW}" inspect hello.wasm) >"${T}/inspect.out" 2>"${T}/inspect.err"
echo $? >"${T}/inspect.rc"
check inspect 'rc == 0 and out["fits_world"] is True and out["problems"] == [] and all(
    i["name"].startswith("marie:node/") or re.match(r"wasi:(io|clocks|random|cli|filesystem)/[a-z-]+@0\.2\.\d+$", i["name"])
    for i in out["imports"]) and [e["name"] for e in out["exports"]] == ["execute"]'

# The same source gives the same bytes, whatever the work dir.
mkdir -p "${T}/again"
cp "${HERE}/hello.rs" "${T}/again/hello.rs"
(cd "${T}/again" && env -i PATH=/usr/bin:/bin ${MW_RUST_TOOLCHAIN:+MW_RUST_TOOLCHAIN="${MW_RUST_TOOLCHAIN}"} \
    ${MW_TOOLCHAINS_DIR:+MW_TOOLCHAINS_DIR="${MW_TOOLCHAINS_DIR}"} \
    "${COMPILE}" hello.rs "${T}/again/hello.wasm") >"${T}/again.out" 2>"${T}/again.err"
if cmp -s "${T}/hello.wasm" "${T}/again/hello.wasm"; then
    ok "reproducible: the same component from another dir, without HOME"
else
    bad "reproducible: the same component from another dir, without HOME" "$(head -c 2000 "${T}/again.err")"
fi

# ---- the README example, from .wasm and .cwasm ----------------------------------

run hello "${T}/hello.wasm" --input items.json --context context.json --stats
check hello 'rc == 0 and items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}]'
check hello '[(l["level"], l["message"]) for l in logs] == [("info", "2 items for rust-node")]' "log.info"
"${MW}" precompile "${T}/hello.wasm" -o "${T}/hello.cwasm" >/dev/null 2>&1
run hello_cwasm "${T}/hello.cwasm" --input items.json --stats
check hello_cwasm 'rc == 0 and items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}]' "from .cwasm"
echo "      (run from .cwasm: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["wall_time_ms"])' "${T}/hello_cwasm.out" 2>/dev/null) ms in the guest)"

printf '{"factor": 3}' >"${T}/scale-config.json"
run scale "${T}/scale.wasm" --input items.json --env "${T}/scale-config.json" --context context.json
check scale 'rc == 0 and items == [{"n": 1, "scaled": 3}, {"n": 2, "scaled": 6}] and [l["message"] for l in logs] == [
    "scaled 2 items for run 2"]'
printf '[{"json": "{\\"m\\": 1}"}]' >"${T}/scale-items.json"
run scale_no_n "${T}/scale.wasm" --input "${T}/scale-items.json"
check scale_no_n 'rc == 1 and out == {"err": "item has no integer n"}' "? on a &str error"

# ---- every capability ---------------------------------------------------------------

run capabilities "${T}/capabilities.wasm" --input items.json --env config.json \
    --context context.json --permissions perms.json --secrets secrets.json
check capabilities 'rc == 0 and items[0]["secret_allowed"] == "k-123" and items[0]["secret_denied"] is None' "secrets allowed and denied"
check capabilities 'items[0]["kv_text"] == "41" and items[0]["kv_blob"] == [0, 1, 255] and items[0]["kv_after_delete"] is None' "kv put/get/delete under the prefix"
check capabilities 'items[0]["http"].startswith("HttpError: ") and "denied" in items[0]["http"] and "denied" in items[0]["http_post"]' "http to a denied host is an HttpError"
check capabilities 'items[0]["config"] == {"threshold": 3, "name": "demo"} and items[0]["context"] == {
    "workflow_id": "wf-1", "execution_id": "ex-1", "node_id": "rust-node", "run_index": 2}' "config and context"
check capabilities 'items[0]["binary_in"] == [None, [0, 1, 2]] and out["ok"][1] == {"json": "{\"has_binary\":true}", "binary": "YWJj"}' "binary in and out"
check capabilities '[(l["level"], l["message"]) for l in logs if l["source"] == "console"] == [
    ("debug", "debug line"), ("info", "info line {\"n\":1}"), ("warn", "warn line"), ("error", "error line")]' "log::debug/info/warn/error"
check capabilities '[(l["source"], l["level"], l["message"]) for l in logs if l["source"] in ("stdout", "stderr")] == [
    ("stdout", "info", "stdout line from rust-node"), ("stderr", "warn", "stderr line")]' "println!/eprintln! reach the log"
check capabilities '[(e["event_type"], e["payload"]) for e in events] == [
    ("node.done", "{\"items\":2}"), ("node.note", "plain text payload")]' "events::emit"
check capabilities 'any(l["source"] == "host" and "DB_PASSWORD" in l["message"] and "denied" in l["message"] for l in logs)' "the host logs the denied secret"

rm -f "${T}/kv.db"
run capabilities_sqlite "${T}/capabilities.wasm" --input items.json --permissions perms.json \
    --kv "sqlite://${T}/kv.db"
check capabilities_sqlite 'rc == 0 and [(ns, k.startswith(b"p:") and k.endswith(b"blob")) for ns, k in
    __import__("sqlite3").connect(base.rsplit("/", 1)[0] + "/kv.db").execute("SELECT ns, key FROM kv")] == [(b"p:", True)]' \
    "kv keys stored under the prefix"

# ---- HTTP against a local server (loopback only, stops by itself) ---------------------

mkdir -p "${T}/www"
printf '{"rows": [1, 2, 3]}\n' >"${T}/www/data.json"
port=$((20000 + RANDOM % 20000))
(cd "${T}/www" && exec timeout 60 python3 -m http.server "${port}" --bind 127.0.0.1) >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "${port}" 2>/dev/null && break
    sleep 0.1
done
printf '{"base": "http://127.0.0.1:%s"}' "${port}" >"${T}/fetch-config.json"
printf '{"allow_http": true, "http_allowed_hosts": ["127.0.0.1"], "timeout_ms": 10000}' >"${T}/fetch-perms.json"
run fetch "${T}/fetch.wasm" --env "${T}/fetch-config.json" --permissions "${T}/fetch-perms.json" --allow-private-network
kill "${server}" 2>/dev/null
wait "${server}" 2>/dev/null
check fetch 'rc == 0 and items == [{"status": 200, "ok": True, "content_type": "application/json", "data": {"rows": [1, 2, 3]},
    "text_len": 20, "post_status": 501, "missing_status": 404, "missing_ok": False}]' "http::fetch, Request::post().json(), 4xx/5xx are responses"

# ---- typed config and items, Box<dyn Error> --------------------------------------

printf '{"factor": 3, "label": "x3"}' >"${T}/typed-config.json"
run typed "${T}/typed.wasm" --input items.json --env "${T}/typed-config.json" --context context.json
check typed 'rc == 0 and items == [{"n": 1, "scaled": 3, "label": "x3", "run": 2}, {"n": 2, "scaled": 6, "label": "x3", "run": 2}]'
run typed_no_config "${T}/typed.wasm" --input items.json
check typed_no_config 'rc == 1 and out == {"err": "config does not fit execute'"'"'s config type: missing field `factor`"}'
printf '{"factor": 3,' >"${T}/bad-config.json"
run typed_bad_config "${T}/typed.wasm" --env "${T}/bad-config.json"
check typed_bad_config 'rc == 1 and out["err"].startswith("config is not valid JSON: ")'
printf '{"factor": 9223372036854775807}' >"${T}/big-config.json"
run typed_overflow "${T}/typed.wasm" --input items.json --env "${T}/big-config.json"
check typed_overflow 'rc == 1 and out == {"err": "overflow"}' "? on a &str error through Box<dyn Error>"
printf '[{"json": "{\\"m\\": 1}"}]' >"${T}/wrong-items.json"
run typed_wrong_item "${T}/typed.wasm" --input "${T}/wrong-items.json" --env "${T}/typed-config.json"
check typed_wrong_item 'rc == 1 and out == {"err": "missing field `n`"}' "item.parse() error"

run values "${T}/values.wasm" --input items.json
check values 'rc == 0 and out["ok"] == [{"json": "{\"n\":1}"}, {"json": "{\"n\":2}"}, {"json": "null"}, {"json": "\"text\""}]' \
    "Vec<Value> without Result; NaN is null"
run bad_output "${T}/bad_output.wasm"
check bad_output 'rc == 1 and out == {"err": "item 1: cannot be serialised to JSON: key must be a string"}'

# ---- what execute may do: errors, panics, limits -----------------------------------

mode() {   # mode NAME [run options]: runs modes.rs with config {"mode": NAME}
    local m="$1"
    shift
    printf '{"mode": "%s"}' "${m}" >"${T}/mode-${m}.json"
    run "mode_${m}" "${T}/modes.wasm" --env "${T}/mode-${m}.json" "$@"
}
mode values
check mode_values 'rc == 0 and out["ok"] == [{"json": "{\"x\":1,\"y\":2}"}, {"json": "[1,\"two\",null]"},
    {"json": "\"plain string\""}, {"json": "42"}, {"json": "true", "binary": "AQI="}, {"json": "{\"k\":1.5}"}]'
mode echo --input items.json
check mode_echo 'rc == 0 and out["ok"] == [{"json": "{\"n\":1}"}, {"json": "{\"n\":2}", "binary": "AAEC"}]'
mode error
check mode_error 'rc == 1 and out == {"err": "custom failure"}'
mode http_uncaught
check mode_http_uncaught 'rc == 1 and out["err"].startswith("HttpError: ") and "denied" in out["err"]' "? on HttpError"
mode kv_denied
check mode_kv_denied 'rc == 1 and out == {"err": "KvError: kv.put denied: allow_kv is false"}' "? on KvError"
mode panic --input items.json
check mode_panic 'rc == 1 and out == {"err": "panicked at modes.rs:34:20: boom: 2"} and [(l["level"], l["message"]) for l in logs] == [
    ("error", "panicked at modes.rs:34:20: boom: 2")]' "a panic is an err, its message and location logged"
mode unwrap
check mode_unwrap 'rc == 1 and out["err"] == "panicked at modes.rs:37:39: called `Option::unwrap()` on a `None` value" and any(l["level"] == "error" and l["message"] == out["err"] for l in logs)'
mode index --input items.json
check mode_index 'rc == 1 and out["err"] == "panicked at modes.rs:39:39: index out of bounds: the len is 2 but the index is 7"'
mode recursion
check mode_recursion 'rc == 2 and out["trap"]["kind"] == "stack_overflow"'
mode memory --permissions <(echo '{"max_memory_mb": 64}')
check mode_memory 'rc == 2 and out["trap"]["kind"] == "memory_limit"'
mode loop --permissions <(echo '{"timeout_ms": 500}')
check mode_loop 'rc == 2 and out["trap"]["kind"] in ("timeout", "fuel_exhausted")'
run no_config "${T}/modes.wasm"
check no_config 'rc == 1 and out == {"err": "unknown mode none"}' "blank config is {}"
printf '[{"json": "not json"}]' >"${T}/bad-items.json"
run bad_input "${T}/modes.wasm" --input "${T}/bad-items.json" --env "${T}/mode-echo.json"
check bad_input 'rc == 1 and out["err"].startswith("input item 0: '"'"'json'"'"' is not valid JSON")'

# ---- compile errors: exit 1, diagnostics with the user's file and lines -------------

diag() {   # diag SOURCE LINES REGEX: compile failed, LINES stderr lines, the first matches
    local src="$1" want="$2" regex="$3" stem="${1%.rs}" rc lines
    rc="$(cat "${T}/${stem}.compile.rc")"
    lines="$(grep -c '' "${T}/${stem}.compile.err")"
    if [ "${rc}" = 1 ] && [ "${lines}" = "${want}" ] && head -n 1 "${T}/${stem}.compile.err" | grep -Eq "${regex}"; then
        ok "diagnostic ${src}: $(head -n 1 "${T}/${stem}.compile.err")"
    else
        bad "diagnostic ${src}" "rc=${rc} lines=${lines} want ${want} lines, ${regex}" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
}
SIG='write: pub fn execute\(input_items: Vec<Item>, config: Value, context: Context\) -> Result<Vec<Item>, String>$'
diag syntax_error.rs 1 '^syntax_error\.rs:4:36: error: expected expression, found `;`'
diag type_error.rs 1 '^type_error\.rs:4:22: error\[E0308\]: mismatched types: expected `u32`, found `&str`$'
diag missing_execute.rs 1 "^missing_execute\.rs:1:1: no function \`execute\` defined; ${SIG}"
diag not_public.rs 1 "^not_public\.rs:4:1: \`execute\` must be public; ${SIG}"
diag wrong_signature.rs 1 "^wrong_signature\.rs:4:1: \`execute\` has the wrong signature \(expected \`fn\(Vec<Item>, _, Context\) -> _\`, found \`fn\(Vec<String>, Value, Context\) -> _\`\); ${SIG}"
diag wrong_arity.rs 1 "^wrong_arity\.rs:3:1: \`execute\` has the wrong signature \(function is expected to take 3 arguments, but it takes 1 argument"
diag wrong_return.rs 1 "^wrong_return\.rs:3:1: \`execute\` returns \`usize\`, which is not a node result; ${SIG}"
diag private_type.rs 1 '^private_type\.rs:7:1: type `Config` is used in the signature of `execute`, so it must be public'
diag no_prelude.rs 4 '^no_prelude\.rs:1:33: error\[E0425\]: cannot find type `Item` in this scope.*\(add: use marie::prelude::\*;\)$'
diag second_file.rs 1 '^second_file\.rs:1:1: error\[E0583\]: file not found for module `helpers`'

# ---- usage and input limits ------------------------------------------------------------

"${COMPILE}" "${HERE}/hello.rs" >/dev/null 2>&1
[ $? = 64 ] && ok "usage: one argument is exit 64" || bad "usage: one argument is exit 64"
"${COMPILE}" "${T}/no-such.rs" "${T}/x.wasm" >/dev/null 2>&1
[ $? = 64 ] && ok "usage: a missing file is exit 64" || bad "usage: a missing file is exit 64"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"${T}/big.rs"
"${COMPILE}" "${T}/big.rs" "${T}/big.wasm" 2>"${T}/big.err" >/dev/null
rc=$?
[ "${rc}" = 1 ] && grep -q 'big\.rs:1:1: source is 1048577 bytes, more than the limit of 1048576' "${T}/big.err" \
    && ok "a source over 1 MiB is exit 1" || bad "a source over 1 MiB is exit 1" "rc=${rc} $(cat "${T}/big.err")"
printf 'pub fn execute() {}\n// \xff\xfe\n' >"${T}/latin.rs"
"${COMPILE}" "${T}/latin.rs" "${T}/latin.wasm" 2>"${T}/latin.err" >/dev/null
rc=$?
[ "${rc}" = 1 ] && grep -q 'latin\.rs:1:1: the source is not valid UTF-8' "${T}/latin.err" \
    && ok "a source that is not UTF-8 is exit 1" || bad "a source that is not UTF-8 is exit 1" "rc=${rc} $(cat "${T}/latin.err")"

echo "${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
