#!/usr/bin/env python3
"""load.py - `marie-wasm serve` under wrk on 127.0.0.1: executions/s and
latency of POST /v1/execute from below to far past the concurrency limit.

One server (--workers, --max-concurrency as given), the echo component
(tests/components/echo.wasm) uploaded once, then one wrk run per connection
count. Per run: answers by status (429 = over the concurrency limit),
executions/s (200 answers), p50/p99 latency of all answers, socket errors,
the server's CPU time per answer, RSS and threads after the run. After the
runs the server must still answer /healthz, and its own count of answers
(/metrics) must cover what wrk received (it may exceed it by the requests
in flight when wrk stopped: at most one per connection).

usage (after scripts/setup.sh):
  python3 bench/load.py [--build build] [--seconds 5]
      [--connections 1,2,4,8,16,32,64,256] [--workers N]
      [--max-concurrency 32] [--items 1|10] [--json out.json]

--items 1: one small item ({"n":1}), the "trivial execution" of the
performance target; --items 10: 10 items of 1 KiB JSON, as bench_exec and
bench_python use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wrkload import Server, execute_body, run_wrk  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def answers_total(m: dict[str, float]) -> float:
    return sum(v for k, v in m.items() if k.startswith("marie_http_responses_total"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", default="1,2,4,8,16,32,64,256")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--max-concurrency", type=int, default=32)
    ap.add_argument("--items", type=int, choices=(1, 10), default=1)
    ap.add_argument("--json", help="also write the raw runs here")
    args = ap.parse_args()

    build = Path(args.build).resolve()
    exe, wasm = build / "marie-wasm", build / "tests/components/echo.wasm"
    for p in (exe, wasm):
        if not p.exists():
            print(f"load: {p} missing (scripts/setup.sh)", file=sys.stderr)
            return 2
    items = ['{"n":1}'] if args.items == 1 else \
        ['{"k":"' + "x" * (1024 - 8) + '"}' for _ in range(10)]

    server = Server(exe, "--workers", str(args.workers),
                    "--max-concurrency", str(args.max_concurrency))
    runs = []
    try:
        body = execute_body(server.upload(wasm), items)
        run_wrk(server, body, 2, 1)  # warm-up: component cached, pool slots used
        print(f"marie-wasm serve --workers {args.workers} --max-concurrency "
              f"{args.max_concurrency}; {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.2f}; {args.items} item(s) per execution, "
              f"{len(body)} B request; wrk 1 thread, {args.seconds:g} s per run",
              flush=True)
        for c in (int(x) for x in args.connections.split(",")):
            before = answers_total(server.metrics())
            r = run_wrk(server, body, c, args.seconds)
            # /metrics counts itself once: the answer to the first call.
            r["server_answered"] = int(answers_total(server.metrics()) - before - 1)
            r["rss_kib"], r["threads"] = server.rss_kib(), server.threads()
            runs.append(r)
            others = {k: v for k, v in r["status"].items() if k not in (200, 429)}
            print(f"  c={c}: {r['ok_rate']:,.0f} exec/s, p50 {r['p50_us']} us, p99 "
                  f"{r['p99_us']} us, 429 {r['status'].get(429, 0)}, other {others or 0}, "
                  f"socket errors {r['connect'] + r['read'] + r['write'] + r['timeout']}",
                  flush=True)
        alive = server.alive() and b'"ok"' in server.get("/healthz")
        loadavg = os.getloadavg()[0]
    finally:
        status = server.close()

    print()
    print("| connections | exec/s (200) | 429/s | p50 | p99 | max | socket errors "
          "| server CPU per answer | answered: wrk / server | RSS after | threads after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    bad = []
    for r in runs:
        secs = r["duration_us"] / 1e6
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        others = sum(v for k, v in r["status"].items() if k not in (200, 429))
        if others or errors or not (0 <= r["server_answered"] - r["answered"] <= r["connections"]):
            bad.append(r)
        print(f"| {r['connections']} | {r['ok_rate']:,.0f} | {r['status'].get(429, 0) / secs:,.0f} "
              f"| {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms "
              f"| {r['max_us'] / 1000:.1f} ms | {errors} | {r['server_cpu_us']:.0f} us "
              f"| {r['answered']:,} / {r['server_answered']:,} | {r['rss_kib']:,} KiB "
              f"| {r['threads']} |")
    print(f"\nserver alive after the runs: {alive}; exit status on SIGTERM: {status}; "
          f"load average at the end {loadavg:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    if bad or not alive or status != 0:
        print(f"load: FAILED: {len(bad)} run(s) with unexpected answers or errors",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
