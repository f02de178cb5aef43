#!/usr/bin/env bash
# run_tests.sh MARIE_WASM [LANG...]
#
# The compile-escape corpus: user code that attacks the build itself (a
# Python module's and a JavaScript module's top level run at compile time;
# C's preprocessor reads files) — network access, reading host files,
# writing outside the work dir, running past the deadline, endless output,
# exhausting memory. Each is compiled by
# `marie-wasm compile` (the sandboxed compiler service) and must fail with a
# clear error, within its deadline, having touched nothing on the host.
# LANG: python, javascript, c (default: all). Prints "N passed, N failed".
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: run_tests.sh MARIE_WASM [LANG...]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANGS=" ${*:-python javascript c} "
T="$(mktemp -d "${TMPDIR:-/tmp}/marie-escape-tests.XXXXXX")"
export MW_COMPILE_CACHE_DIR="${T}/cache"
LISTENER_PID=""
cleanup() {
    [ -n "${LISTENER_PID}" ] && kill "${LISTENER_PID}" 2>/dev/null
    rm -rf -- "${T}"
}
trap cleanup EXIT
DEADLINE=30

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s: %s\n' "$1" "$2"; }

# A listener on loopback that records every connection it gets.
python3 - "${T}/port" "${T}/connections" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("connection\n")
    c.close()
PY
LISTENER_PID=$!
for _ in $(seq 50); do [ -s "${T}/port" ] && break; sleep 0.1; done
PORT="$(cat "${T}/port")"

# expect NAME FILE WANT_RC REGEX: compiling FILE fails with exit WANT_RC
# (a|b allowed) and stderr matching REGEX, writes no output, and ends
# within the deadline.
expect() {
    local name="$1" file="$2" want="$3" regex="$4" rc=0 start end
    start=$(date +%s)
    "${MW}" compile --quiet --timeout "${DEADLINE}" "${file}" -o "${T}/out.wasm" \
        >"${T}/out" 2>"${T}/err" || rc=$?
    end=$(date +%s)
    if ! [[ "|${want}|" == *"|${rc}|"* ]]; then
        bad "${name}" "exit ${rc}, wanted ${want}: $(head -c 1500 "${T}/err")"
    elif ! grep -Eq "${regex}" "${T}/err"; then
        bad "${name}" "stderr does not match '${regex}': $(head -c 1500 "${T}/err")"
    elif [ -e "${T}/out.wasm" ]; then
        bad "${name}" "an output was written"
    elif [ $((end - start)) -gt $((DEADLINE + 15)) ]; then
        bad "${name}" "took $((end - start)) s, past the ${DEADLINE} s deadline"
    elif [ "$(stat -c %s "${T}/err")" -gt 65536 ]; then
        bad "${name}" "stderr is $(stat -c %s "${T}/err") bytes: output is not capped"
    else
        ok "${name} ($((end - start)) s): $(head -c 160 "${T}/err" | tr '\n' ' ')"
    fi
    rm -f "${T}/out.wasm"
}

if [[ "${LANGS}" == *" python "* ]]; then
    "${HERE}/../../../guest/python/install-toolchain.sh" >/dev/null
    sed "s/@PORT@/${PORT}/" "${HERE}/net.py" >"${T}/net.py"
    expect python_network_is_unreachable "${T}/net.py" 1 'net.py:6:[0-9]+: .*(Error|error)'
    expect python_host_files_are_invisible "${HERE}/read_host.py" 1 'read_host.py:2:[0-9]+: .*(FileNotFoundError|PermissionError|OSError)'
    rm -f /tmp/marie-escape-python
    expect python_cannot_write_outside "${HERE}/write_host.py" 1 'write_host.py:2:[0-9]+: '
    if [ -e /tmp/marie-escape-python ]; then bad python_wrote_on_the_host "/tmp/marie-escape-python exists"; fi
    expect python_endless_import_hits_the_deadline "${HERE}/spin.py" 70 "longer than the ${DEADLINE} s limit"
    expect python_endless_output_is_contained "${HERE}/flood.py" '1|70' "BrokenPipeError|longer than the ${DEADLINE} s limit"
    expect python_memory_exhaustion_is_contained "${HERE}/memory.py" '1|70' 'MemoryError|memory|limit'
fi
if [[ "${LANGS}" == *" javascript "* ]]; then
    "${HERE}/../../../guest/javascript/install-toolchain.sh" >/dev/null
    expect js_endless_top_level_hits_the_deadline "${HERE}/spin.js" '1|70' "longer than the ${DEADLINE} s limit|did not finish loading"
    expect js_memory_exhaustion_is_contained "${HERE}/memory.js" '1|70' 'memory|Memory|limit'
    expect js_host_files_cannot_be_imported "${HERE}/read_host.js" 1 'read_host.js:2:[0-9]+: .*cannot import'
fi
if [[ "${LANGS}" == *" c "* ]]; then
    "${HERE}/../../../guest/c/install-toolchain.sh" >/dev/null
    expect c_host_files_are_invisible "${HERE}/read_host.c" 1 'read_host.c:3:[0-9]+: .*(not found|No such file)'
    expect c_include_loop_is_an_error "${HERE}/include_loop.c" 1 'include_loop.c:2:[0-9]+: .*nested too deeply'
fi
if [ -s "${T}/connections" ]; then
    bad "nothing_reached_the_loopback_listener" "$(wc -l <"${T}/connections") connections"
else
    ok "nothing_reached_the_loopback_listener"
fi

printf '%d passed, %d failed\n' "${passed}" "${failed}"
[ "${failed}" -eq 0 ]
