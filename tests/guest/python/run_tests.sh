#!/usr/bin/env bash
# run_tests.sh MARIE_WASM [WORKDIR]
#
# The Python language path end to end: compiles the nodes in this folder
# with marie-wasm compile (the sandboxed compiler service running
# guest/python/compile.sh), runs them with the given marie-wasm binary
# and checks what comes out (items, err messages, log records, events,
# exit status), and checks that bad code fails to compile with a
# USER_FILE:LINE:COL diagnostic.
#
# Needs python3 and the pinned componentize-py (install-toolchain.sh is
# run first; it is a no-op when the toolchain is there). Components are
# precompiled once (.cwasm) so that each run takes milliseconds. Prints
# "N passed, N failed"; exits 1 when a check failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${HERE}/../../.." && pwd)"
# Every compile goes through the compiler service (sandboxed).
compile_node() { "${MW}" compile --quiet "$1" -o "$2"; }

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: run_tests.sh MARIE_WASM [WORKDIR]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "${MW}" ] || { echo "run_tests.sh: ${MW} is not executable" >&2; exit 64; }
KEEP_WORK=0
if [ $# -eq 2 ]; then
    WORK="$2"
    KEEP_WORK=1
    mkdir -p "${WORK}"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/marie-python-tests.XXXXXX")"
fi
SERVER_PID=""
cleanup() {
    if [ -n "${SERVER_PID}" ]; then kill "${SERVER_PID}" 2>/dev/null || true; fi
    if [ "${KEEP_WORK}" -eq 0 ]; then rm -rf -- "${WORK}"; fi
}
trap cleanup EXIT
# A cache of this run's own, so that each node really is built.
export MW_COMPILE_CACHE_DIR="${WORK}/compile-cache"

"${REPO}/guest/python/install-toolchain.sh"

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s: %s\n' "$1" "$2"; }

# build NAME: compiles NAME.py and precompiles it; false when either fails.
build() {
    local name="$1" t0 t1
    t0=$(date +%s%N)
    if ! compile_node "${HERE}/${name}.py" "${WORK}/${name}.wasm" 2>"${WORK}/${name}.compile.err"; then
        fail "compile ${name}" "$(head -c 2000 "${WORK}/${name}.compile.err")"
        return 1
    fi
    t1=$(date +%s%N)
    if ! "${MW}" precompile "${WORK}/${name}.wasm" -o "${WORK}/${name}.cwasm" >/dev/null 2>"${WORK}/${name}.pre.err"; then
        fail "precompile ${name}" "$(head -c 2000 "${WORK}/${name}.pre.err")"
        return 1
    fi
    printf '      %s: compile %d ms, precompile %d ms, %s bytes\n' "${name}" \
        $(((t1 - t0) / 1000000)) $((($(date +%s%N) - t1) / 1000000)) \
        "$(stat -c %s "${WORK}/${name}.wasm")"
    pass "compile ${name}"
}

# check TEST NAME EXPECT_RC PYTHON_CONDITION [marie-wasm run options...]
# Runs NAME.cwasm; the condition sees r (the result document), items (the
# ok items' json, parsed), logs and events (the records on stderr) and rc.
check() {
    local test="$1" name="$2" want_rc="$3" cond="$4"
    shift 4
    local out="${WORK}/${test}.out" err="${WORK}/${test}.err" rc=0
    "${MW}" run "${WORK}/${name}.cwasm" "$@" >"${out}" 2>"${err}" || rc=$?
    local why
    if why="$(python3 - "${out}" "${err}" "${rc}" "${want_rc}" "${cond}" <<'PY'
import json, sys
out, err, rc, want_rc, cond = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
try:
    r = json.load(open(out))
except ValueError:
    print(f"stdout is not JSON: {open(out).read()[:500]!r}; stderr: {open(err).read()[:1500]}")
    sys.exit(1)
records = [json.loads(l) for l in open(err) if l.startswith("{")]
logs = [x for x in records if x.get("type") == "log"]
events = [x for x in records if x.get("type") == "event"]
items = [json.loads(i["json"]) for i in r.get("ok", [])]
if rc != want_rc:
    print(f"exit {rc}, wanted {want_rc}; result {json.dumps(r)[:800]}")
    sys.exit(1)
try:
    good = eval("(" + cond + "\n)")
except Exception as e:
    good = False
    print(f"condition raised {type(e).__name__}: {e}")
if not good:
    print(f"condition failed: {cond}\n  result: {json.dumps(r)[:1500]}\n  records: {json.dumps(records)[:2500]}")
    sys.exit(1)
PY
)"; then
        pass "${test}"
    else
        fail "${test}" "${why}"
    fi
}

# compile_fails TEST FILE REGEX: compile.sh exits 1 with exactly one line
# on stderr, "FILE:LINE:COL: message", matching REGEX.
compile_fails() {
    local test="$1" file="${HERE}/$2" regex="$3" rc=0
    compile_node "${file}" "${WORK}/${test}.wasm" 2>"${WORK}/${test}.err" || rc=$?
    local lines
    lines="$(wc -l <"${WORK}/${test}.err")"
    if [ "${rc}" -ne 1 ]; then
        fail "${test}" "exit ${rc}, wanted 1: $(head -c 1500 "${WORK}/${test}.err")"
    elif [ "${lines}" -ne 1 ] || ! grep -qE "^${file}:${regex}\$" "${WORK}/${test}.err"; then
        fail "${test}" "stderr does not match '${file}:${regex}': $(head -c 1500 "${WORK}/${test}.err")"
    elif [ -e "${WORK}/${test}.wasm" ]; then
        fail "${test}" "an output file was written"
    else
        pass "${test}"
    fi
}

# What a compile could leave in the source tree (bytecode, the copied
# files, outputs); nothing of it belongs there.
build_debris() {
    find "${REPO}/guest/python" "${HERE}" \( -name __pycache__ -o -name '*.pyc' \
        -o -name '*.wasm' -o -name '*.cwasm' -o -name node.py -o -name node.name \
        -o -name componentize.log -o -name env -o -name tmp -o -name src \) -print | sort
}
debris_before="$(build_debris)"

# ---- compile failures --------------------------------------------------------
compile_fails syntax_error_is_reported_on_the_users_line syntax_error.py \
    "3:28: SyntaxError: expected ':'"
compile_fails missing_execute_is_reported missing_execute.py \
    "1:1: no function 'execute' defined; write: def execute\(input_items, config, context\):"
compile_fails wrong_arity_is_reported wrong_arity.py \
    "4:1: execute must take 3 parameters \(input_items, config, context\), it takes 2: execute\(input_items, config\)"
compile_fails top_level_exception_is_reported top_level_error.py \
    "3:12: JSONDecodeError: Expecting property name .*\(raised while importing the module at compile time\)"
compile_fails host_call_at_import_time_is_refused top_level_host.py \
    "3:10: RuntimeError: marie.kv.get can only be called inside execute\(\).*"

# ---- the seed example, verbatim -----------------------------------------------
if build seed; then
    check seed_example_processes_items seed 0 \
        'items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}] and "stats" in r' \
        --input "${HERE}/items.json" --stats
    printf '%s' '{"not json' >"${WORK}/bad-config.txt"
    check invalid_config_is_an_err seed 1 \
        'r["err"].startswith("config is not valid JSON: ")' \
        --input "${HERE}/items.json" --env "${WORK}/bad-config.txt"
    check no_items_gives_no_items seed 0 'r == {"ok": []}'
fi

# ---- every capability ---------------------------------------------------------
if build capabilities; then
    check capabilities_work_within_permissions capabilities 0 '
items[0]["secret_allowed"] == "k-123" and items[0]["secret_denied"] is None
and items[0]["kv_text"] == "41" and items[0]["kv_blob"] == [0, 1, 255]
and items[0]["kv_after_delete"] is None
and items[0]["http"].startswith("HttpError: ") and "denied" in items[0]["http"]
and items[0]["config"] == {"threshold": 3, "name": "demo"}
and items[0]["context"] == {"workflow_id": "wf-1", "execution_id": "ex-1", "node_id": "py-node", "run_index": 2}
and items[1] == {"has_binary": True} and r["ok"][1]["binary"] == "YWJj"
and [(l["level"], l["message"]) for l in logs if l["source"] == "console"] == [
    ("debug", "debug line"), ("info", "info line"), ("warn", "warn line"),
    ("error", "error line"), ("info", "using key [REDACTED]")]
and [l["message"] for l in logs if l["source"] == "stdout"] == [
    "printed line from py-node", "last words without newline"]
and [(e["event_type"], e["payload"]) for e in events] == [
    ("node.done", "{\"items\": 2}"), ("node.note", "plain text payload")]
and r["stats"]["denied_calls"] == 2' \
        --input "${HERE}/items.json" --env "${HERE}/config.json" --context "${HERE}/context.json" \
        --permissions "${HERE}/perms.json" --secrets "${HERE}/secrets.json" --stats
    check capabilities_denied_without_permissions capabilities 1 \
        'r["err"].startswith("KvError: ") and "denied" in r["err"]' \
        --secrets "${HERE}/secrets.json"
fi

# ---- an exception -------------------------------------------------------------
if build exception; then
    check exception_becomes_err_with_traceback exception 1 '
r["err"] == "ZeroDivisionError: division by zero"
and any(l["level"] == "error" and l["message"].startswith("Traceback (most recent call last):")
        and "File \"exception.py\", line 7, in execute" in l["message"]
        and "File \"exception.py\", line 2, in ratio" in l["message"]
        and "return total / count" in l["message"]
        and "marie_app" not in l["message"] for l in logs)
and [l["message"] for l in logs if l["source"] == "stdout"] == ["about to divide"]' \
        --input "${HERE}/items.json"
fi

# ---- return values and failures, one node --------------------------------------
if build modes; then
    mode() { printf '{"mode": "%s"}' "$1" >"${WORK}/mode-$1.json"; echo "${WORK}/mode-$1.json"; }
    check returned_values_become_items modes 0 '
items == [{"x": 1, "y": 2}, [1, "two", None], "plain string", 42, {"as": "dict"}, [True], {},
          {"json": "1", "other": "key"}]
and r["ok"][5]["binary"] == "AQI=" and "binary" not in r["ok"][6]' --env "$(mode values)"
    check input_binary_reaches_the_node modes 0 \
        'r["ok"][1]["binary"] == "AAEC" and "binary" not in r["ok"][0]' \
        --env "$(mode echo_binary)" --input "${HERE}/items.json"
    check error_key_is_an_err modes 1 'r["err"] == "custom failure"' --env "$(mode error)"
    check err_value_is_serialised modes 1 'r["err"] == "{\"code\": 7}"' --env "$(mode err_value)"
    check bare_list_is_refused modes 1 \
        'r["err"].startswith("execute must return {") and "wrap the list" in r["err"]' --env "$(mode list)"
    check none_is_refused modes 1 'r["err"].endswith("got None")' --env "$(mode none)"
    check extra_keys_are_refused modes 1 '"keys [\x27extra\x27, \x27ok\x27]" in r["err"]' --env "$(mode two_keys)"
    check ok_must_be_a_list modes 1 'r["err"] == "the \x27ok\x27 value must be a list of items, got a str"' \
        --env "$(mode ok_not_list)"
    check nan_is_refused modes 1 'r["err"].startswith("item 0: a float cannot be serialised to JSON")' \
        --env "$(mode nan)"
    check unserialisable_value_is_refused modes 1 \
        'r["err"] == "item 1: a set cannot be serialised to JSON: Object of type set is not JSON serializable"' \
        --env "$(mode set)"
    check invalid_json_text_is_refused modes 1 'r["err"].startswith("item 0: \x27json\x27 is not valid JSON text")' \
        --env "$(mode bad_json)"
    check non_bytes_binary_is_refused modes 1 'r["err"] == "item 0: \x27binary\x27 must be bytes or None, not str"' \
        --env "$(mode bad_binary)"
    check uncaught_http_denial_is_an_err modes 1 '
r["err"].startswith("HttpError: ") and "denied" in r["err"]
and any(l["level"] == "error" and "File \"modes.py\", line 55, in execute" in l["message"]
        and "marie/" not in l["message"] for l in logs)' --env "$(mode http_uncaught)"
    check sys_exit_is_an_err modes 1 'r["err"] == "SystemExit: 3"' --env "$(mode exit)"
    check deep_recursion_is_an_err modes 1 'r["err"].startswith("RecursionError")' --env "$(mode recursion)"
    printf '{"max_memory_mb": 64}' >"${WORK}/mem-perms.json"
    check memory_limit_is_an_err modes 1 'r["err"].startswith("MemoryError")' \
        --env "$(mode memory)" --permissions "${WORK}/mem-perms.json"
    printf '{"max_fuel": 50000000}' >"${WORK}/fuel-perms.json"
    check endless_loop_runs_out_of_fuel modes 2 'r["trap"]["kind"] == "fuel_exhausted"' \
        --env "$(mode loop)" --permissions "${WORK}/fuel-perms.json"
    printf '  \n' >"${WORK}/blank.txt"
    check blank_config_is_an_empty_dict modes 1 'r["err"] == "unknown mode None"' --env "${WORK}/blank.txt"
fi

# ---- standard library at run time ----------------------------------------------
if build stdlib; then
    check stdlib_imports_inside_execute_work stdlib 0 '
items[0]["re"] == ["1", "22", "333"] and items[0]["strptime"] == "2024-03-05T10:20:00"
and items[0]["decimal"] == "3.30" and items[0]["sha256"] == "ba7816bf8f01cfea"
and items[0]["counter"] == "a" and items[0]["idna"] == "xn--bcher-kva.example"
and items[0]["query"] == "a=1&b=c+d" and items[0]["uuid_len"] == 36 and items[0]["year"]'
fi

# ---- real HTTP on loopback --------------------------------------------------------
if build http_allowed; then
    python3 "${REPO}/tests/http_server.py" >"${WORK}/http-port.txt" &
    SERVER_PID=$!
    for _ in $(seq 50); do [ -s "${WORK}/http-port.txt" ] && break; sleep 0.1; done
    port="$(head -n 1 "${WORK}/http-port.txt")"
    printf '{"base": "http://127.0.0.1:%s"}' "${port}" >"${WORK}/http-config.json"
    printf '{"allow_http": true, "http_allowed_hosts": ["127.0.0.1"]}' >"${WORK}/http-perms.json"
    check http_fetch_reaches_an_allowed_host http_allowed 0 '
items[0]["plain_status"] == 200 and items[0]["plain_text"] == "hello" and items[0]["plain_ok"]
and items[0]["content_length"] == "5"
and items[0]["echo"] == "POST x-test=v1 auth=- ctype=application/json len=8 body={\"a\": 1}"
and items[0]["missing_status"] == 404 and items[0]["missing_ok"] is False' \
        --env "${WORK}/http-config.json" --permissions "${WORK}/http-perms.json" --allow-private-network
fi

# ---- the same code again is a cache hit: no toolchain runs --------------------
t0=$(date +%s%N)
if "${MW}" compile --quiet --json "${HERE}/seed.py" -o "${WORK}/seed-again.wasm" >"${WORK}/again.json" \
    && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["cached"] else 1)' "${WORK}/again.json" \
    && cmp -s "${WORK}/seed.wasm" "${WORK}/seed-again.wasm"; then
    pass "recompiling_the_same_code_hits_the_cache ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "recompiling_the_same_code_hits_the_cache" "$(cat "${WORK}/again.json")"
fi

# ---- compiling leaves the source tree alone ----------------------------------
changed="$(build_debris)"
if [ "${changed}" = "${debris_before}" ]; then
    pass "compile_writes_nothing_into_the_source_tree"
else
    fail "compile_writes_nothing_into_the_source_tree" "${changed}"
fi

printf '%d passed, %d failed\n' "${passed}" "${failed}"
[ "${failed}" -eq 0 ]
