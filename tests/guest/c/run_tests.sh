#!/usr/bin/env bash
# run_tests.sh MARIE_WASM [WORKDIR]
#
# The C language path end to end: compiles the nodes in this directory with
# guest/c/compile.sh, runs them on the marie-wasm binary given as argument
# and checks outputs, err messages, traps, logs and events; checks that
# broken code fails to compile with USER_FILE:LINE:COL diagnostics, the
# exit statuses of compile.sh, the component's imports, its size, and that
# a compile works offline in a sandbox with the toolchain read-only and no
# HOME. Prints "N passed, N failed"; exits 1 when a check failed.
#
# Needs python3 and the toolchain (guest/c/install-toolchain.sh is run
# first; it is a quick no-op when the toolchain is there). bubblewrap is
# used for the sandbox check when it works here (skipped otherwise).
set -uo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: run_tests.sh MARIE_WASM [WORKDIR]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "${MW}" ] || { echo "run_tests.sh: ${MW} is not executable" >&2; exit 64; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${HERE}/../../.." && pwd)"
COMPILE="${REPO}/guest/c/compile.sh"
if [ -f "${REPO}/guest/toolchains.sh" ]; then
    . "${REPO}/guest/toolchains.sh"
    TC="${MW_C_TOOLCHAIN:-$(mw_toolchains_root)/c}"
else
    TC="${MW_C_TOOLCHAIN:-${HOME}/.cache/marie-wasm/c-toolchain}"
fi
export MW_C_TOOLCHAIN="${TC}"
KEEP=0
if [ $# -eq 2 ]; then
    T="$2"
    KEEP=1
    mkdir -p "${T}"
else
    T="$(mktemp -d "${TMPDIR:-/tmp}/marie-c-tests.XXXXXX")"
fi
T="$(cd "${T}" && pwd)"
SERVER_PID=""
cleanup() {
    if [ -n "${SERVER_PID}" ]; then kill "${SERVER_PID}" 2>/dev/null; fi
    if [ "${KEEP}" -eq 0 ]; then rm -rf -- "${T}"; fi
}
trap cleanup EXIT

"${REPO}/guest/c/install-toolchain.sh" || { echo "run_tests.sh: install-toolchain.sh failed" >&2; exit 1; }

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; shift; [ $# -gt 0 ] && printf '      %s\n' "$@"; }

# check NAME PYTHON_EXPR [LABEL]: the expression sees out (the result JSON
# or None), items (the ok items' json, parsed), rc, err (stderr text),
# logs / events (stderr JSON lines), trap (out["trap"] or {}) and re.
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
trap = out.get("trap", {}) if isinstance(out, dict) else {}
records = []
for line in err.splitlines():
    try:
        records.append(json.loads(line))
    except ValueError:
        pass
logs = [r for r in records if r.get("type") == "log"]
events = [r for r in records if r.get("type") == "event"]
try:
    good = eval("(" + expr + "\n)")
except Exception as e:
    good = False
    print("raised %s: %s" % (type(e).__name__, e))
if not good:
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

# run NAME NODE.wasm [marie-wasm run options]
run() {
    local name="$1" node="$2"
    shift 2
    (cd "${HERE}" && "${MW}" run "${node}" "$@") >"${T}/${name}.out" 2>"${T}/${name}.err"
    echo $? >"${T}/${name}.rc"
}

# compile SOURCE: -> T/<stem>.wasm; status, stderr and time in T/<stem>.compile.*
compile() {
    local src="$1" stem="${1%.c}" start end
    start=$(date +%s%N)
    (cd "${HERE}" && "${COMPILE}" "${src}" "${T}/${stem}.wasm" "${T}/work-${stem}") \
        >"${T}/${stem}.compile.out" 2>"${T}/${stem}.compile.err"
    echo $? >"${T}/${stem}.compile.rc"
    end=$(date +%s%N)
    echo $(((end - start) / 1000000)) >"${T}/${stem}.compile.ms"
}

# What a compile could leave in the source tree; nothing of it belongs there.
debris() {
    find "${REPO}/guest/c" "${HERE}" \( -name '*.wasm' -o -name '*.o' -o -name '*.log' \
        -o -name src -o -name obj -o -name tmp -o -name 'work-*' \) -print | sort
}
debris_before="$(debris)"

# ---- compile the nodes ----------------------------------------------------------

GOOD=(hello.c seed.c capabilities.c modes.c http_allowed.c warnings_only.c)
BAD=(syntax_error.c type_error.c several_errors.c missing_execute.c wrong_signature.c
     undefined_function.c sdk_clash.c bad_include.c bad_import.c return_type.c)
echo "compiling ${#GOOD[@]} nodes and ${#BAD[@]} broken ones into ${T}"
for src in "${GOOD[@]}" "${BAD[@]}"; do
    compile "${src}"
done
for src in "${GOOD[@]}"; do
    stem="${src%.c}"
    if [ "$(cat "${T}/${stem}.compile.rc")" = 0 ] && [ -s "${T}/${stem}.wasm" ] \
        && [ ! -s "${T}/${stem}.compile.err" ]; then
        ok "compile ${src} ($(cat "${T}/${stem}.compile.ms") ms, $(stat -c %s "${T}/${stem}.wasm") bytes)"
    else
        bad "compile ${src}" "rc=$(cat "${T}/${stem}.compile.rc")" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
done

# Most runs use a precompiled .cwasm (milliseconds instead of ~0.4 s of
# Cranelift per run); hello and seed run from the .wasm.
for stem in capabilities modes http_allowed; do
    if [ -s "${T}/${stem}.wasm" ] && ! "${MW}" precompile "${T}/${stem}.wasm" -o "${T}/${stem}.cwasm" \
        >/dev/null 2>"${T}/${stem}.precompile.err"; then
        bad "precompile ${stem}.wasm" "$(head -c 2000 "${T}/${stem}.precompile.err")"
    fi
done

# ---- size and reproducibility -------------------------------------------------------

size_check() {   # size_check STEM MAX_BYTES
    local size
    size="$(stat -c %s "${T}/$1.wasm" 2>/dev/null || echo 0)"
    if [ "${size}" -gt 0 ] && [ "${size}" -le "$2" ]; then
        ok "size of $1.wasm: ${size} bytes (limit $2)"
    else
        bad "size of $1.wasm: ${size} bytes (limit $2)"
    fi
}
size_check hello $((96 * 1024))
size_check capabilities $((160 * 1024))

(cd "${HERE}" && "${COMPILE}" hello.c "${T}/hello-again.wasm") >/dev/null 2>&1
if cmp -s "${T}/hello.wasm" "${T}/hello-again.wasm"; then
    ok "the same source compiles to the same bytes (other work dir)"
else
    bad "the same source compiles to the same bytes (other work dir)"
fi

# ---- the component fits the world ----------------------------------------------------

(cd "${T}" && "${MW}" inspect capabilities.wasm) >"${T}/inspect.out" 2>"${T}/inspect.err"
echo $? >"${T}/inspect.rc"
check inspect 'rc == 0 and out["fits_world"] is True and out["problems"] == [] and all(
    i["name"].startswith("marie:node/") or re.match(r"wasi:(io|clocks|random|cli|filesystem)/[a-z-]+@0\.2\.\d+$", i["name"])
    for i in out["imports"]) and [e["name"] for e in out["exports"]] == ["execute"]' \
    "only marie:node/* and wasi:* 0.2 imports, one export"

# ---- hello and the README example ------------------------------------------------------

run hello "${T}/hello.wasm" --input items.json --context context.json --stats
check hello 'rc == 0 and items == [{"hello": "c-node", "items": 2}] and [(l["level"], l["message"]) for l in logs
    if l["source"] == "console"] == [("info", "hello from c-node, 2 items")]'
run seed "${T}/seed.wasm" --input items.json
check seed 'rc == 0 and items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}]'
run seed_empty "${T}/seed.wasm"
check seed_empty 'rc == 0 and out == {"ok": []}' "no items in, no items out"

# ---- every capability ---------------------------------------------------------------------

run capabilities "${T}/capabilities.cwasm" --input items.json --env config.json \
    --context context.json --permissions perms.json --secrets secrets.json --stats
check capabilities 'rc == 0 and items[0]["secret_allowed"] == "k-123" and items[0]["secret_denied"] is None
    and items[0]["secret_denied_why"] == "secret DB_PASSWORD is not available"' "secrets allowed and denied"
check capabilities 'items[0]["kv_text"] == "41" and items[0]["kv_blob"] == [0, 1, 255]
    and items[0]["kv_after_delete"] is None' "kv put/get/delete"
check capabilities 'items[0]["http"].startswith("error: ") and "denied" in items[0]["http"]' \
    "http to a denied host fails with the host's reason"
check capabilities 'items[0]["config"] == {"threshold": 3, "name": "demo"} and items[0]["threshold"] == 3
    and items[0]["name"] == "demo"' "config text and the JSON reader"
check capabilities 'items[0]["context"] == {"workflow_id": "wf-1", "execution_id": "ex-1", "node_id": "c-node", "run_index": 2}' \
    "context"
check capabilities 'items[0]["binary_in"] == [None, [0, 1, 2]] and out["ok"][1] == {"json": "{\"has_binary\":true}", "binary": "YWJj"}' \
    "binary in and out"
check capabilities '[(l["level"], l["message"]) for l in logs if l["source"] == "console"] == [
    ("debug", "debug line"), ("info", "info line {\"n\":1}"), ("warn", "warn line 3"),
    ("error", "error line with bad UTF-8: \ufffd!")]' "marie_log_* (printf-style; bad UTF-8 replaced)"
check capabilities '[(l["source"], l["level"], l["message"]) for l in logs if l["source"] in ("stdout", "stderr")] == [
    ("stdout", "info", "printf line from c-node"), ("stderr", "warn", "stderr line")]' "printf / fprintf(stderr) reach the log"
check capabilities '[(e["event_type"], e["payload"]) for e in events] == [
    ("node.done", "{\"items\":2}"), ("node.note", "plain text payload")]' "marie_event_emit"
check capabilities 'out["stats"]["denied_calls"] == 2 and any(l["source"] == "host" and "DB_PASSWORD" in l["message"]
    and "denied" in l["message"] for l in logs)' "the host logs the denials"

run capabilities_denied "${T}/capabilities.cwasm" --secrets secrets.json
check capabilities_denied 'rc == 1 and out["err"].startswith("kv.put failed: ") and "denied" in out["err"]' \
    "without permissions kv.put fails"

rm -f "${T}/kv.db"
run capabilities_sqlite "${T}/capabilities.cwasm" --input items.json --permissions perms.json --kv "sqlite://${T}/kv.db"
check capabilities_sqlite 'rc == 0 and [(ns, k.startswith(b"p:") and k.endswith(b"blob")) for ns, k in
    __import__("sqlite3").connect(base.rsplit("/", 1)[0] + "/kv.db").execute("SELECT ns, key FROM kv")] == [(b"p:", True)]' \
    "kv keys stored under the prefix"

# ---- responses, the JSON helpers, failures ------------------------------------------------

mode() {   # mode NAME [run options]: runs modes.c with config {"mode": NAME}
    local m="$1"
    shift
    printf '{"mode": "%s", "index": 10}' "${m}" >"${T}/mode-${m}.json"
    run "mode_${m}" "${T}/modes.cwasm" --env "${T}/mode-${m}.json" "$@"
}
mode values
check mode_values 'rc == 0 and out["ok"] == [{"json": "{\"x\":1,\"y\":2}"}, {"json": " [1, \"two\", null] "},
    {"json": "\"tab\\there \\\"quoted\\\" \u00e9 \U0001F600 \\u0001 bad:\\ufffd\""}, {"json": "42"},
    {"json": "[true]", "binary": "AQI="}, {"json": "{}", "binary": ""}]' "pushed items, marie_json_quote, empty binary"
mode echo_binary --input items.json
check mode_echo_binary 'rc == 0 and out["ok"] == [{"json": "{\"n\": 1}"}, {"json": "{\"n\": 2}", "binary": "AAEC"}]'
mode error
check mode_error 'rc == 1 and out == {"err": "custom failure 7"}' "marie_err"
mode null
check mode_null 'rc == 1 and out["err"].startswith("execute returned NULL")'
mode foreign
check mode_foreign 'rc == 1 and "not a response" in out["err"]' "a pointer that is not a response"
mode bad_json
check mode_bad_json 'rc == 1 and out == {"err": "item 1: '"'"'json'"'"' is not valid JSON text: unexpected word at byte 6"}'
mode bad_utf8
check mode_bad_utf8 'rc == 1 and out["err"] == "item 0: '"'"'json'"'"' is not valid JSON text: invalid UTF-8 at byte 1"'
mode many
check mode_many 'rc == 0 and len(items) == 10000 and items[9999] == {"i": 9999}' "10000 items"
mode deep
check mode_deep 'rc == 0 and items == [{"deep_valid": 0, "deep_len": 0, "fine_valid": 1, "fine_len": 1000}]' \
    "the JSON reader refuses 100000 nested arrays, reads 500"
mode kv_denied
check mode_kv_denied 'rc == 1 and out == {"err": "kv.put: kv.put denied: allow_kv is false"}'
mode bad_args
check mode_bad_args 'rc == 0 and items == [[ "the value is NULL but its length is 5",
    "ttl_seconds must be 0 to 4294967295 or MARIE_KV_NO_TTL, not -5",
    "the secret name is not valid UTF-8", "the url is NULL"]]' "bad arguments fail with a reason, not a crash"
cat >"${T}/json-read.json" <<'EOF'
{"mode": "json_read", "data": {"list": [12, 2.5, -3e2, "x\u00e9\ud83d\ude00\n\u0000z", true, null, {"k": "v"}],
 "big": 9223372036854775807, "neg": -9223372036854775808, "over": 9223372036854775808,
 "k\"ey": "tricky \"value\"", "nested": {"a": [1, {"b": null}]} }}
EOF
run json_read "${T}/modes.cwasm" --env "${T}/json-read.json"
check json_read 'rc == 0 and items == [{"count": 7, "members": 6, "i1": 12, "d": 2.5, "sci": -300,
    "text": "x\u00e9\U0001F600\n\u0000z", "text_len": 10, "flag": True, "null": True, "missing": False,
    "over": False, "frac": False, "big": 9223372036854775807, "neg": -9223372036854775808,
    "tricky": "tricky \"value\"", "nested": {"a": [1, {"b": None}]}, "types": [0, 1, 2, 3, 4, 5, 6],
    "valid": [1, 0, 0]}]' "marie_json_* reader"
printf '  \n' >"${T}/blank.txt"
run blank_config "${T}/modes.cwasm" --env "${T}/blank.txt"
check blank_config 'rc == 1 and out == {"err": "unknown mode {}"}' "blank config is {}"
printf '{bad' >"${T}/bad-config.txt"
run bad_config "${T}/modes.cwasm" --env "${T}/bad-config.txt"
check bad_config 'rc == 1 and out == {"err": "config is not valid JSON: expected a string (a member name) at byte 1"}'
printf '{"mode": "values"} x' >"${T}/trailing-config.txt"
run trailing_config "${T}/modes.cwasm" --env "${T}/trailing-config.txt"
check trailing_config 'rc == 1 and out["err"] == "config is not valid JSON: unexpected text after the value at byte 19"'

# ---- traps: C's panic ------------------------------------------------------------------------

mode abort
check mode_abort 'rc == 2 and trap["kind"] == "guest_trap" and "!abort" in trap["message"]
    and "!execute" in trap["message"]' "abort() traps, backtrace with names"
mode assert
check mode_assert 'rc == 2 and trap["kind"] == "guest_trap" and any(l["source"] == "stderr" and
    re.fullmatch(r"Assertion failed: input->count > 0 \(modes\.c: execute: \d+\)", l["message"]) for l in logs)' \
    "a failed assert logs the user's file and line, then traps"
mode null_deref
check mode_null_deref 'rc == 2 and trap["kind"] == "guest_trap" and "unreachable" in trap["message"]' \
    "a NULL dereference traps (sanitizer)"
mode bounds
check mode_bounds 'rc == 2 and trap["kind"] == "guest_trap" and "unreachable" in trap["message"]' \
    "an out-of-bounds index traps (sanitizer)"
mode recursion
check mode_recursion 'rc == 2 and trap["kind"] in ("stack_overflow", "guest_trap")'
mode big_frames
check mode_big_frames 'rc == 2 and trap["kind"] == "guest_trap" and "out of bounds memory access" in trap["message"]' \
    "overflowing the linear-memory stack traps (stack first)"
mode exit
check mode_exit 'rc == 2 and trap["kind"] == "guest_trap" and "proc_exit" in trap["message"]' "exit() traps"
mode memory --permissions <(echo '{"max_memory_mb": 32}')
check mode_memory 'rc == 1 and re.match(r"out of memory after \d+ MiB$", out["err"])' "malloc returns NULL at the memory limit"
mode loop --permissions <(echo '{"timeout_ms": 500}')
check mode_loop 'rc == 2 and trap["kind"] in ("timeout", "fuel_exhausted")'

# ---- real HTTP on loopback ---------------------------------------------------------------------

if [ "$(cat "${T}/http_allowed.compile.rc")" = 0 ]; then
    python3 "${REPO}/tests/http_server.py" >"${T}/http-port.txt" &
    SERVER_PID=$!
    for _ in $(seq 50); do [ -s "${T}/http-port.txt" ] && break; sleep 0.1; done
    printf '{"base": "http://127.0.0.1:%s"}' "$(head -n 1 "${T}/http-port.txt")" >"${T}/http-config.json"
    printf '{"allow_http": true, "http_allowed_hosts": ["127.0.0.1"]}' >"${T}/http-perms.json"
    run http_allowed "${T}/http_allowed.cwasm" --env "${T}/http-config.json" --permissions "${T}/http-perms.json" \
        --allow-private-network
    check http_allowed 'rc == 0 and items == [{"plain_status": 200, "plain_text": "hello", "content_length": "5",
        "echo": "POST x-test=v1 auth=- ctype=application/json len=8 body={\"a\": 1}",
        "missing_status": 404, "missing_body": "status 404"}]' "marie_http_fetch to an allowed host"
    kill "${SERVER_PID}" 2>/dev/null
    SERVER_PID=""
fi

# ---- compile errors: exit 1, the user's file and lines, errors only ----------------------------

diag() {   # diag SOURCE REGEX...: exit 1, one stderr line per REGEX, in order, and no OUT
    local src="$1" stem="${1%.c}" rc want i=0 line
    shift
    rc="$(cat "${T}/${stem}.compile.rc")"
    mapfile -t lines <"${T}/${stem}.compile.err"
    local good=1
    [ "${rc}" = 1 ] && [ "${#lines[@]}" = $# ] && [ ! -e "${T}/${stem}.wasm" ] || good=0
    for want in "$@"; do
        line="${lines[${i}]:-}"
        [[ "${line}" =~ ${want} ]] || good=0
        i=$((i + 1))
    done
    if [ "${good}" = 1 ]; then
        ok "diagnostic ${src}: $(head -n 1 "${T}/${stem}.compile.err")"
    else
        bad "diagnostic ${src}" "rc=${rc} want: $*" "$(head -c 2000 "${T}/${stem}.compile.err")"
    fi
}
SIG='marie_response \*execute\(const marie_items \*input, const char \*config, const marie_context \*ctx\)'
diag syntax_error.c "^syntax_error\.c:5:14: error: expected ';' after expression$"
diag type_error.c "^type_error\.c:6:9: error: incompatible pointer to integer conversion initializing 'int' with an expression of type 'const char \*'$"
diag several_errors.c \
    "^several_errors\.c:7:5: error: call to undeclared function 'undeclared_helper'" \
    "^several_errors\.c:8:20: error: format string is not a string literal" \
    "^several_errors\.c:9:30: error: format specifies type 'int' but the argument has type 'const marie_context \*'"
diag missing_execute.c "^missing_execute\.c:1:1: error: no function 'execute' is defined; write: ${SIG} \{ \.\.\. \}$"
diag wrong_signature.c "^wrong_signature\.c:3:17: error: conflicting types for 'execute'; execute must be: ${SIG}$"
diag undefined_function.c "^undefined_function\.c:2:5: error: 'helper' is declared but never defined"
diag sdk_clash.c "^sdk_clash\.c:12:17: error: 'marie_ok' is already defined by the marie SDK; rename yours$"
diag bad_include.c "^bad_include\.c:2:10: error: 'helpers\.h' file not found; a node is one file"
diag bad_import.c '^bad_import\.c:2:16: error: the code imports or exports functions outside the marie:node world: .*evil:net/raw'
diag return_type.c "^return_type\.c:6:1: error: non-void function does not return a value in all control paths$"

# The path is printed as given, also from another directory.
(cd "${REPO}" && "${COMPILE}" tests/guest/c/syntax_error.c "${T}/x.wasm") >/dev/null 2>"${T}/path.err"
if [ "$(cat "${T}/path.err")" = "tests/guest/c/syntax_error.c:5:14: error: expected ';' after expression" ]; then
    ok "diagnostics name USER_FILE as given"
else
    bad "diagnostics name USER_FILE as given" "$(cat "${T}/path.err")"
fi

# ---- compile.sh exit statuses ------------------------------------------------------------------

status_is() {   # status_is LABEL WANT COMMAND...
    local label="$1" want="$2" rc=0
    shift 2
    "$@" >"${T}/status.out" 2>"${T}/status.err" || rc=$?
    if [ "${rc}" = "${want}" ]; then
        ok "${label}: exit ${rc}"
    else
        bad "${label}: exit ${rc}, wanted ${want}" "$(head -c 1000 "${T}/status.err")"
    fi
}
status_is "no arguments" 64 "${COMPILE}"
status_is "missing source" 64 "${COMPILE}" "${T}/nonexistent.c" "${T}/x.wasm"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"${T}/huge.c"
status_is "source over 1 MiB" 1 "${COMPILE}" "${T}/huge.c" "${T}/x.wasm"
status_is "no toolchain" 70 env MW_C_TOOLCHAIN="${T}/no-toolchain" "${COMPILE}" "${HERE}/hello.c" "${T}/x.wasm"
mkdir -p "${T}/other-wit"
printf 'package other:thing@1.0.0;\n' >"${T}/other-wit/marie-node.wit"
status_is "another WIT than the toolchain's" 70 env MW_WIT_DIR="${T}/other-wit" "${COMPILE}" "${HERE}/hello.c" "${T}/x.wasm"
if [ -e "${T}/x.wasm" ]; then bad "failed compiles write no OUT"; else ok "failed compiles write no OUT"; fi

# ---- offline, read-only toolchain, no HOME -------------------------------------------------------

touch "${T}/before-sandbox"
sleep 0.01
status_is "compile without HOME" 0 env -u HOME MW_C_TOOLCHAIN="${TC}" "${COMPILE}" "${HERE}/hello.c" "${T}/nohome.wasm"
if command -v bwrap >/dev/null && bwrap --unshare-all --ro-bind / / true 2>/dev/null; then
    # Like the compile service's sandbox: no network, no HOME or PATH, uid
    # 65534, only /usr, the toolchain, this checkout's guest/c and wit read-only,
    # a tmpfs /tmp and the work dir writable.
    mkdir -p "${T}/sandbox"
    cp "${HERE}/capabilities.c" "${T}/sandbox/"
    chmod -R a+rwX "${T}/sandbox"
    sandbox=(bwrap --unshare-all --die-with-parent --new-session --clearenv --uid 65534 --gid 65534
        --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
        --ro-bind-try /etc/alternatives /etc/alternatives --proc /proc --dev /dev --tmpfs /tmp
        --ro-bind "$(readlink -f "${TC}")" "${TC}" --ro-bind "${REPO}/guest/c" "${REPO}/guest/c"
        --ro-bind "${REPO}/wit" "${REPO}/wit" --bind "${T}/sandbox" /build --chdir /build
        --setenv MW_C_TOOLCHAIN "${TC}")
    status_is "compile in a sandbox (read-only toolchain, uid 65534, no network)" 0 \
        "${sandbox[@]}" -- "${COMPILE}" capabilities.c capabilities.wasm work
    if cmp -s "${T}/sandbox/capabilities.wasm" "${T}/capabilities.wasm"; then
        ok "the sandboxed compile gives the same component"
    else
        bad "the sandboxed compile gives the same component"
    fi
    status_is "a broken node in the sandbox" 1 "${sandbox[@]}" --ro-bind "${HERE}/syntax_error.c" /src/syntax_error.c \
        -- "${COMPILE}" /src/syntax_error.c out.wasm
    if grep -qx "/src/syntax_error.c:5:14: error: expected ';' after expression" "${T}/status.err"; then
        ok "the sandboxed diagnostic names the file as given"
    else
        bad "the sandboxed diagnostic names the file as given" "$(cat "${T}/status.err")"
    fi
else
    echo "skip  sandbox compile (bubblewrap is not usable here)"
fi
changed="$(find "$(readlink -f "${TC}")" -newer "${T}/before-sandbox" -print | head -n 5)"
if [ -z "${changed}" ]; then
    ok "compiles write nothing into the toolchain"
else
    bad "compiles write nothing into the toolchain" "${changed}"
fi

# ---- through the compiler service (marie-wasm compile: its own sandbox) ---------------------------

if "${MW}" compile --help >/dev/null 2>&1; then
    mkdir -p "${T}/service"
    cp "${HERE}/seed.c" "${HERE}/syntax_error.c" "${T}/service/"
    status_is "marie-wasm compile seed.c" 0 env MW_COMPILE_CACHE_DIR="${T}/service/cache" \
        "${MW}" compile "${T}/service/seed.c" -o "${T}/service/seed.wasm" --no-cache -q
    run service_seed "${T}/service/seed.wasm" --input items.json
    check service_seed 'rc == 0 and items == [{"processed": {"n": 1}}, {"processed": {"n": 2}}]' \
        "the service's component runs"
    status_is "marie-wasm compile syntax_error.c" 1 env MW_COMPILE_CACHE_DIR="${T}/service/cache" \
        "${MW}" compile "${T}/service/syntax_error.c" -o "${T}/service/bad.wasm" --no-cache -q
    if [ "$(cat "${T}/status.err")" = "${T}/service/syntax_error.c:5:14: error: expected ';' after expression" ]; then
        ok "the service's diagnostic names the user's file"
    else
        bad "the service's diagnostic names the user's file" "$(cat "${T}/status.err")"
    fi
else
    echo "skip  marie-wasm compile (this marie-wasm has no compile command)"
fi

# ---- compile.sh leaves the source tree alone --------------------------------------------------------

if [ "$(debris)" = "${debris_before}" ]; then
    ok "compile writes nothing into the source tree"
else
    bad "compile writes nothing into the source tree" "$(debris)"
fi

echo "${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
