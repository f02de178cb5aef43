#!/usr/bin/env bash
# new_nodes.sh MARIE_WASM [LANG...]
#
# `marie-wasm new` for every language (default: c rust python javascript
# typescript): the scaffold compiles with `marie-wasm compile --store
# --precompile`, runs on its own input and config with its own permissions,
# and gives the documented result; the store holds the .wasm and .cwasm
# under the node's key; `new` refuses a directory that is not empty and an
# unknown language. Needs the languages' toolchains (the language test
# scripts install them). Prints "N passed, N failed"; exits 1 on a failure.
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: new_nodes.sh MARIE_WASM [LANG...]" >&2; exit 64; }
MW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
LANGS=("$@")
[ ${#LANGS[@]} -gt 0 ] || LANGS=(c rust python javascript typescript)
T="$(mktemp -d "${TMPDIR:-/tmp}/marie-new-tests.XXXXXX")"
trap 'rm -rf -- "${T}"' EXIT
export MW_COMPILE_CACHE_DIR="${T}/cache"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s: %s\n' "$1" "$2"; }

for lang in "${LANGS[@]}"; do
    dir="${T}/${lang}-node"
    if ! "${MW}" new --lang "${lang}" "${dir}" 2>"${T}/new.err"; then
        bad "new ${lang}" "$(cat "${T}/new.err")"
        continue
    fi
    src="$(cd "${dir}" && ls node.* | head -1)"
    if ! (cd "${dir}" && "${MW}" compile --quiet --json "${src}" -o node.wasm --precompile \
        --store "${T}/store" --node-id "${lang}-node") >"${T}/compile.json" 2>"${T}/compile.err"; then
        bad "compile the ${lang} scaffold" "$(head -c 2000 "${T}/compile.err")"
        continue
    fi
    sha="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "${T}/compile.json")"
    if [ -f "${T}/store/wasm/nodes/${lang}-node/${sha:0:24}.wasm" ] \
        && [ -f "${T}/store/wasm/nodes/${lang}-node/${sha:0:24}.cwasm" ] \
        && cmp -s "${dir}/node.wasm" "${T}/store/wasm/nodes/${lang}-node/${sha:0:24}.wasm"; then
        ok "the ${lang} scaffold is stored as .wasm and .cwasm under its node key"
    else
        bad "store ${lang}" "$(find "${T}/store" -type f)"
    fi
    out="$(cd "${dir}" && "${MW}" run node.cwasm --input input.json --env config.json \
        --permissions permissions.json 2>"${T}/run.err")"
    if [ "${out}" = '{"ok":[{"json":"{\"n\": 1, \"scaled\": 2}"},{"json":"{\"n\": 21, \"scaled\": 42}"}]}' ] \
        || [ "${out}" = '{"ok":[{"json":"{\"n\":1,\"scaled\":2}"},{"json":"{\"n\":21,\"scaled\":42}"}]}' ]; then
        if grep -q 'scaled 2 items for run 0' "${T}/run.err"; then
            ok "the ${lang} scaffold runs on its own input and logs"
        else
            bad "run ${lang}" "no log line: $(head -c 1000 "${T}/run.err")"
        fi
    else
        bad "run ${lang}" "${out} $(head -c 1000 "${T}/run.err")"
    fi
done

mkdir -p "${T}/full" && touch "${T}/full/keep.txt"
if "${MW}" new --lang c "${T}/full" 2>"${T}/full.err"; then
    bad "new refuses a non-empty directory" "it succeeded"
elif grep -q 'not empty' "${T}/full.err" && [ "$(ls "${T}/full")" = keep.txt ]; then
    ok "new refuses a non-empty directory and leaves it alone"
else
    bad "new refuses a non-empty directory" "$(cat "${T}/full.err")"
fi
rc=0
"${MW}" new --lang cobol "${T}/cobol" 2>"${T}/cobol.err" || rc=$?
if [ "${rc}" = 64 ] && grep -q "unknown language 'cobol'" "${T}/cobol.err" && [ ! -e "${T}/cobol" ]; then
    ok "new refuses an unknown language"
else
    bad "new refuses an unknown language" "rc=${rc} $(cat "${T}/cobol.err")"
fi

printf '%d passed, %d failed\n' "${passed}" "${failed}"
[ "${failed}" -eq 0 ]
