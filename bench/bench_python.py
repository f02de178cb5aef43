#!/usr/bin/env python3
"""bench_python.py - executing a trivial node from Python, side by side:

  (a)  the reference Python path: wasmtime-py (PyPI `wasmtime`, pinned in
       scripts/install-test-tools.sh) with a new Linker and Store per call,
       as the original executor did: Linker + WASI p2 + the marie:node host
       functions defined as Python callables, Store with fuel, an epoch
       deadline (a ticker thread advances the epoch) and a memory limit,
       instantiate, call `execute` with Python values, post-return, and the
       result items turned into dicts. The Engine and the compiled
       Component are made once (as a cache would), which favours (a).
  (a0) the same with nothing but a Linker and a Store per call (no WASI,
       no host functions, no limits but the fuel the engine requires): a
       lower bound for any wasmtime-py executor that makes a Linker and a
       Store per call.
  (b)  our binding, marie_wasm: WasmExecutor.execute (async: the request
       is built on the event loop and executed on the library's runner
       threads) on 1, 2 and 8 tasks, and execute_sync (the calling thread)
       on 1 and 2 threads, given the .wasm path as a user would.
  (c)  our C library directly (build/bench/bench_loop, a child process
       driven over a pipe): "exec" is mw_execute with a request built once
       per thread (the library's floor); "full" makes per execution the C
       calls execute_sync makes (request, packed items, context,
       permissions, host, mw_execute, mw_result_pack), i.e. (b) minus the
       Python; "tojson" adds mw_result_to_json, which the binding once
       called.
  (d)  the HTTP service: POST /v1/execute to `marie-wasm serve` on
       127.0.0.1 under wrk (bench/wrkload.py), 8 connections; latency is
       wrk's per request, CPU per execution the server's. wrk runs on the
       same 2 cores and takes a share of them.

The same component (tests/components/echo.wasm: returns its input; it
imports only the marie:node types, no WASI) and the same input (10 items
of 1 KiB JSON) everywhere. Rounds alternate over all paths (a, a0, b..., c...,
a, a0, ...) so machine noise hits them alike; each path reports the median
over rounds of its executions/s, of its per-round p50/p99 latency and of
its CPU time per execution (process CPU time / executions: steadier than
wall time on a shared machine).

usage (after cmake --build build and scripts/install-test-tools.sh):
  ~/.cache/marie-wasm/bench-venv/bin/python bench/bench_python.py \
      [--build build] [--seconds 1] [--rounds 7] [--json out.json]
      [--package-dir DIR]   (another copy of marie_wasm, for before/after)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
N_ITEMS = 10
ITEM_BYTES = 1024
# {"k":"xxxx..."} padded to exactly ITEM_BYTES, as bench_exec.c.
ITEM = '{"k":"' + "x" * (ITEM_BYTES - 8) + '"}'
assert len(ITEM) == ITEM_BYTES
CONTEXT = {"workflow_id": "wf", "execution_id": "ex", "node_id": "node", "run_index": 0}
MAX_FUEL = 1_000_000_000
MAX_MEMORY_MB = 64
TIMEOUT_MS = 30_000
EPOCH_TICK_S = 0.010

# ---- statistics ---------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank below, as bench_loop.c."""
    if not sorted_values:
        return 0.0
    return sorted_values[int((len(sorted_values) - 1) * q)]


def summarize(latencies: list[float], elapsed: float) -> dict[str, float]:
    lat = sorted(latencies)
    return {
        "count": len(lat),
        "seconds": elapsed,
        "rate": len(lat) / elapsed if elapsed > 0 else 0.0,
        "p50_us": percentile(lat, 0.50) * 1e6,
        "p99_us": percentile(lat, 0.99) * 1e6,
    }


def timed_loop(call: Callable[[], Any], end: float, out: list[float]) -> None:
    clock = time.perf_counter
    t0 = clock()
    while t0 < end:
        call()
        t1 = clock()
        out.append(t1 - t0)
        t0 = t1


def run_threads(call: Callable[[], Any], threads: int, seconds: float) -> dict[str, float]:
    lats: list[list[float]] = [[] for _ in range(threads)]
    start = time.perf_counter()
    end = start + seconds
    if threads == 1:
        timed_loop(call, end, lats[0])
    else:
        ts = [threading.Thread(target=timed_loop, args=(call, end, lat)) for lat in lats]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return summarize([x for lat in lats for x in lat], time.perf_counter() - start)


# ---- (a) the reference: wasmtime-py, a Linker and a Store per call -----------


class WasmtimePyReference:
    """The original executor's shape on wasmtime-py's component API."""

    def __init__(self, wasm_path: Path, full: bool, shared: WasmtimePyReference | None = None):
        import wasmtime
        from wasmtime import component as wc

        self.wasmtime, self.wc, self.full = wasmtime, wc, full
        self.engine: Any
        self.component: Any
        if shared is not None:  # same engine, component and ticker
            self.engine, self.component = shared.engine, shared.component
            return
        cfg = wasmtime.Config()
        cfg.consume_fuel = True
        cfg.epoch_interruption = True
        self.engine = wasmtime.Engine(cfg)
        self.component = wc.Component.from_file(self.engine, str(wasm_path))
        self._stop = threading.Event()
        threading.Thread(target=self._tick, daemon=True, name="epoch").start()

    def _tick(self) -> None:
        while not self._stop.wait(EPOCH_TICK_S):
            self.engine.increment_epoch()

    def close(self) -> None:
        if hasattr(self, "_stop"):
            self._stop.set()

    def _record(self, **fields: Any) -> Any:
        r = self.wc.Record()
        for name, value in fields.items():
            setattr(r, name.replace("_", "-"), value)
        return r

    def _define_host(self, linker: Any) -> None:
        # The marie:node imports as Python callables. echo imports none of
        # them (they are never called here); the per-call cost of defining
        # them is what this measures, as in the original executor.
        wc = self.wc

        def fetch(_store: Any, _req: Any) -> Any:
            return wc.Variant("err", "denied")

        def kv_get(_store: Any, _key: str) -> Any:
            return None

        def kv_put(_store: Any, _key: str, _value: bytes, _ttl: Any) -> Any:
            return wc.Variant("err", "denied")

        def kv_delete(_store: Any, _key: str) -> Any:
            return wc.Variant("err", "denied")

        def secret_get(_store: Any, _name: str) -> Any:
            return None

        def log(_store: Any, _level: Any, _message: str) -> None:
            return None

        def emit(_store: Any, _type: str, _payload: str) -> None:
            return None

        ifaces: dict[str, dict[str, Callable[..., Any]]] = {
            "marie:node/http-client@1.0.0": {"fetch": fetch},
            "marie:node/secrets@1.0.0": {"get": secret_get},
            "marie:node/kv@1.0.0": {"get": kv_get, "put": kv_put, "delete": kv_delete},
            "marie:node/console@1.0.0": {"log": log},
            "marie:node/events@1.0.0": {"emit": emit},
        }
        with linker.root() as root:
            for iface, funcs in ifaces.items():
                with root.add_instance(iface) as inst:
                    for name, fn in funcs.items():
                        inst.add_func(name, fn)

    def execute(self, items: list[dict[str, Any]], config: str, context: dict[str, Any]) -> Any:
        wasmtime, wc = self.wasmtime, self.wc
        linker = wc.Linker(self.engine)
        store = wasmtime.Store(self.engine)
        if self.full:
            linker.add_wasip2()
            self._define_host(linker)
            store.set_fuel(MAX_FUEL)
            store.set_epoch_deadline(max(1, int(TIMEOUT_MS / 1000 / EPOCH_TICK_S)))
            store.set_limits(memory_size=MAX_MEMORY_MB << 20)
            store.set_wasi(wasmtime.WasiConfig())
        else:
            store.set_fuel(MAX_FUEL)  # required: the engine consumes fuel
            store.set_epoch_deadline(1 << 40)
        instance = linker.instantiate(store, self.component)
        func = instance.get_func(store, "execute")
        if func is None:
            raise RuntimeError("component has no `execute` export")
        inputs = [self._record(json=i["json"], binary=i.get("binary")) for i in items]
        result = func(store, inputs, self._record(vars=config), self._record(**context))
        func.post_return(store)
        if isinstance(result, list):  # ok(list<item>): an untagged variant
            return [{"json": r.json, "binary": r.binary} for r in result]
        raise RuntimeError(f"guest error: {result!r}")


# ---- (c) the C library: bench_loop over a pipe ------------------------------


class CLoop:
    def __init__(self, exe: Path, wasm: Path) -> None:
        self.proc = subprocess.Popen(
            [str(exe), str(wasm)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, mode: str, threads: int, seconds: float) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"run {mode} {threads} {seconds}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench_loop exited ({self.proc.wait()})")
        r = json.loads(line)
        r["rate"] = r["count"] / r["seconds"]
        return dict(r)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


# ---- main -------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"), help="CMake build directory")
    ap.add_argument("--wasm", help="component (default BUILD/tests/components/echo.wasm)")
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds per path per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", help="also write the raw rounds here")
    ap.add_argument(
        "--package-dir",
        default=str(REPO / "python"),
        help="directory holding the marie_wasm package to measure (default: the checkout's)",
    )
    args = ap.parse_args()

    build = Path(args.build).resolve()
    wasm = Path(args.wasm).resolve() if args.wasm else build / "tests/components/echo.wasm"
    loop_exe = build / "bench/bench_loop"
    os.environ.setdefault("MARIE_WASM_LIB", str(build / "libmariewasm.so"))
    sys.path.insert(0, str(Path(args.package_dir).resolve()))
    try:
        import wasmtime
    except ImportError:
        print(
            "bench_python: wasmtime-py is missing; run scripts/install-test-tools.sh and use\n"
            "  ~/.cache/marie-wasm/bench-venv/bin/python bench/bench_python.py",
            file=sys.stderr,
        )
        return 2
    import importlib.metadata

    from marie_wasm import Engine, WasmExecutor

    for p in (wasm, loop_exe):
        if not p.exists():
            print(f"bench_python: {p} missing (cmake --build {build})", file=sys.stderr)
            return 2

    items = [{"json": ITEM} for _ in range(N_ITEMS)]
    wasm_s = str(wasm)

    # (a) and (a0)
    ref = WasmtimePyReference(wasm, full=True)
    ref0 = WasmtimePyReference(wasm, full=False, shared=ref)
    for reference in (ref, ref0):
        out = reference.execute(items, "", CONTEXT)
        assert [o["json"] for o in out] == [ITEM] * N_ITEMS, "(a): wrong output"

    # (b): one executor, its own engine (as Engine.default(), no disk cache)
    executor = WasmExecutor(Engine(), max_workers=4)
    res = executor.execute_sync(wasm_s, items, context=CONTEXT)
    assert res.ok and [i.json for i in res.items] == [ITEM] * N_ITEMS, "(b): wrong output"

    def b_sync() -> Any:
        return executor.execute_sync(wasm_s, items, context=CONTEXT)

    aloop = asyncio.new_event_loop()

    def b_async(tasks: int, seconds: float) -> dict[str, float]:
        async def worker(end: float, out: list[float]) -> None:
            clock = time.perf_counter
            t0 = clock()
            while t0 < end:
                await executor.execute(wasm_s, items, context=CONTEXT)
                t1 = clock()
                out.append(t1 - t0)
                t0 = t1

        async def run() -> dict[str, float]:
            lats: list[list[float]] = [[] for _ in range(tasks)]
            start = time.perf_counter()
            await asyncio.gather(*(worker(start + seconds, lat) for lat in lats))
            return summarize([x for lat in lats for x in lat], time.perf_counter() - start)

        return aloop.run_until_complete(run())

    cl = CLoop(loop_exe, wasm)

    sys.path.insert(0, str(REPO / "bench"))
    from wrkload import Server, execute_body, run_wrk

    server = Server(build / "marie-wasm")
    http_body = execute_body(server.upload(wasm), [ITEM] * N_ITEMS)

    def d_http(connections: int, seconds: float) -> dict[str, float]:
        r = run_wrk(server, http_body, connections, seconds)
        if set(r["status"]) != {200}:
            raise RuntimeError(f"(d): answers other than 200: {r['status']}")
        return {"rate": r["ok_rate"], "p50_us": r["p50_us"], "p99_us": r["p99_us"],
                "cpu_us": r["server_cpu_us"], "count": r["answered"]}

    paths: list[tuple[str, str, int, Callable[[float], dict[str, float]]]] = [
        ("a", "wasmtime-py, Linker+WASI+host fns+Store per call", 1,
         lambda s: run_threads(lambda: ref.execute(items, "", CONTEXT), 1, s)),
        ("a0", "wasmtime-py, bare Linker+Store per call", 1,
         lambda s: run_threads(lambda: ref0.execute(items, "", CONTEXT), 1, s)),
        ("b_async1", "marie_wasm await execute()", 1, lambda s: b_async(1, s)),
        ("b_sync1", "marie_wasm execute_sync()", 1, lambda s: run_threads(b_sync, 1, s)),
        ("c_full1", "C: the binding's calls", 1, lambda s: cl.run("full", 1, s)),
        ("c_tojson1", "C: the binding's calls + mw_result_to_json", 1,
         lambda s: cl.run("tojson", 1, s)),
        ("c_exec1", "C: mw_execute", 1, lambda s: cl.run("exec", 1, s)),
        ("b_async2", "marie_wasm await execute()", 2, lambda s: b_async(2, s)),
        ("b_async8", "marie_wasm await execute()", 8, lambda s: b_async(8, s)),
        ("b_sync2", "marie_wasm execute_sync()", 2, lambda s: run_threads(b_sync, 2, s)),
        ("c_full2", "C: the binding's calls", 2, lambda s: cl.run("full", 2, s)),
        ("c_exec2", "C: mw_execute", 2, lambda s: cl.run("exec", 2, s)),
        ("d_http8", "POST /v1/execute (wrk)", 8, lambda s: d_http(8, s)),
    ]

    from marie_wasm._lib import lib as marie_lib

    lib_api = marie_lib()
    env = {
        "python": platform.python_version(),
        "wasmtime_py": importlib.metadata.version("wasmtime"),
        "libmariewasm": lib_api.path,
        "marie_wasm": str(Path(sys.modules["marie_wasm"].__file__ or "").parent),
        "wasmtime_of_libmariewasm": bytes(lib_api.mw_wasmtime_version()).decode(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    print(
        f"python {env['python']}, wasmtime-py {env['wasmtime_py']}, libmariewasm on Wasmtime "
        f"{env['wasmtime_of_libmariewasm']}, {env['cpus']} CPUs, load {env['loadavg_start'][0]:.2f}"
    )
    print(f"marie_wasm from {env['marie_wasm']}, library {env['libmariewasm']}")
    print(
        f"{wasm.name}, {N_ITEMS} items x {ITEM_BYTES} B; {args.rounds} rounds x "
        f"{len(paths)} paths x {args.seconds:g} s (+1 warm-up round)",
        flush=True,
    )

    def measure(fn: Callable[[float], dict[str, float]], seconds: float) -> dict[str, float]:
        c0 = time.process_time()
        r = fn(seconds)
        if "cpu_us" not in r:  # Python paths: this process's CPU time
            r["cpu_us"] = (time.process_time() - c0) / max(1, int(r["count"])) * 1e6
        return r

    for _, _, _, fn in paths:  # warm-up, not counted
        measure(fn, min(0.3, args.seconds))
    rounds: dict[str, list[dict[str, float]]] = {key: [] for key, _, _, _ in paths}
    for i in range(args.rounds):
        for key, _, _, fn in paths:
            rounds[key].append(measure(fn, args.seconds))
        line = "  ".join(f"{k} {rounds[k][-1]['rate']:.0f}/s" for k, _, _, _ in paths)
        print(f"round {i + 1}: {line}", flush=True)
    env["loadavg_end"] = os.getloadavg()

    cl.close()
    server.close()
    executor.close()
    ref.close()
    aloop.close()

    med = {
        k: {
            f: statistics.median(r[f] for r in rs)
            for f in ("rate", "p50_us", "p99_us", "cpu_us")
        }
        for k, rs in rounds.items()
    }

    def per_round_ratio(num: str, den: str) -> tuple[float, float, float]:
        rs = [n["rate"] / d["rate"] for n, d in zip(rounds[num], rounds[den])]
        return statistics.median(rs), min(rs), max(rs)

    print()
    print("| path | threads/tasks | exec/s | p50 | p99 | CPU per exec | exec/s vs (a) |")
    print("|---|---|---|---|---|---|---|")
    for key, label, threads, _ in paths:
        m = med[key]
        vs_a = m["rate"] / med["a"]["rate"]
        print(
            f"| ({key.split('_')[0]}) {label} | {threads} | {m['rate']:,.0f} | "
            f"{m['p50_us']:,.1f} µs | {m['p99_us']:,.1f} µs | {m['cpu_us']:,.1f} µs | "
            f"{vs_a:,.1f}x |"
        )
    print()
    print("ratios (median of per-round ratios of exec/s [min-max over rounds]):")
    for num, den in (
        ("b_async1", "a"), ("b_sync1", "a"), ("b_async8", "a"), ("b_async1", "a0"),
        ("b_sync1", "a0"),
        ("c_exec1", "b_sync1"), ("c_full1", "b_sync1"), ("b_async2", "b_async1"),
        ("b_sync2", "b_sync1"), ("c_exec2", "c_exec1"), ("d_http8", "a"),
        ("d_http8", "c_full2"),
    ):
        r, lo, hi = per_round_ratio(num, den)
        print(f"  ({num}) / ({den}) = {r:.2f}x  [{lo:.2f}-{hi:.2f}]")
    for b in ("b_async1", "b_sync1"):
        print(
            f"  (a) / ({b}): p50 latency {med['a']['p50_us'] / med[b]['p50_us']:.1f}x, "
            f"CPU per execution {med['a']['cpu_us'] / med[b]['cpu_us']:.1f}x; "
            f"(a0) / ({b}): p50 {med['a0']['p50_us'] / med[b]['p50_us']:.1f}x, "
            f"CPU {med['a0']['cpu_us'] / med[b]['cpu_us']:.1f}x"
        )
    print(f"load average: start {env['loadavg_start'][0]:.2f}, end {env['loadavg_end'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"env": env, "rounds": rounds, "medians": med}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
