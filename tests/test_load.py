#!/usr/bin/env python3
"""Load test: `marie-wasm serve` at and past its concurrency limit.

1. Exactly-once: 48 client threads, each on one keep-alive connection, send
   100 executions each with their own id in the input (4,800) to a server
   admitting 4 requests at once; a 429 is retried on the same connection
   after a pause. Every id must come back in its own answer exactly once
   (answers are never crossed between requests), every answer must be 200
   or a well-formed 429, no connection may fail, and the server's own
   counters must agree: executions run == ids answered 200, answers by
   status == answers the clients read, one access-log line per request.
2. A full server: while the 4 admissions are held by slow executions, a
   small request gets 429 and keeps its connection (the next request on it
   is answered), a large one gets 429 and the connection is closed.
3. wrk (when installed) at 32x the limit for a few seconds: only 200 and
   429, no socket errors, the server alive, RSS and threads back near where
   they started.

usage: test_load.py MARIE_WASM COMPONENTS_DIR
Prints the figures; exits 1 on a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from wrkload import Server, execute_body, run_wrk  # noqa: E402

EXE, COMPS = Path(sys.argv[1]), Path(sys.argv[2])
CLIENTS, PER_CLIENT, LIMIT = 48, 100, 4
failures: list[str] = []


def check(name: str, cond: bool, detail: object = "") -> bool:
    if not cond:
        failures.append(name)
        print(f"FAIL {name}: {str(detail)[:1500]}")
    return cond


def post(conn: http.client.HTTPConnection, body: str) -> tuple[int, dict, dict]:
    conn.request("POST", "/v1/execute", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(data)


def metrics_by_prefix(m: dict[str, float], prefix: str) -> dict[str, float]:
    return {k: v for k, v in m.items() if k.startswith(prefix)}


def exactly_once(s: Server, echo: str) -> None:
    answered: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        try:
            for k in range(PER_CLIENT):
                rid = f"{c}-{k}"
                body = execute_body(echo, [json.dumps({"id": rid})])
                while True:
                    status, headers, doc = post(conn, body)
                    with lock:
                        statuses[status] += 1
                    if status == 200:
                        got = json.loads(doc["ok"][0]["json"])["id"]
                        with lock:
                            answered[got] += 1
                            if got != rid:
                                problems.append(f"sent {rid}, answer for {got}")
                        break
                    if not (status == 429 and headers.get("retry-after") == "1"
                            and doc["error"]["code"] == "too_many_requests"):
                        with lock:
                            problems.append(f"{rid}: {status} {doc}")
                        return
                    time.sleep(0.002)
        except Exception as e:  # a connection that fails is a failure
            with lock:
                problems.append(f"client {c}: {type(e).__name__}: {e}")
        finally:
            conn.close()

    before = s.metrics()
    log_before = s.log_path.read_bytes().count(b'"path":"/v1/execute"')
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    after = s.metrics()
    time.sleep(0.2)  # access-log lines are written as requests complete
    log_lines = s.log_path.read_bytes().count(b'"path":"/v1/execute"') - log_before

    total = CLIENTS * PER_CLIENT
    sent = sum(statuses.values())
    print(f"exactly-once: {total} executions from {CLIENTS} connections, limit {LIMIT}: "
          f"{statuses[200]} answered 200, {statuses[429]} answers 429 (retried), "
          f"{sent} requests in {secs:.1f} s")
    check("no client problem", not problems, problems[:10])
    check("every id answered once", len(answered) == total and set(answered.values()) == {1},
          [k for k, v in answered.items() if v != 1][:10] or len(answered))
    check("only 200 and 429", set(statuses) <= {200, 429}, statuses)
    check("the limit was reached (some 429)", statuses[429] > 0, statuses)

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    ran = delta('marie_executions_total{outcome="ok",trap="none"}')
    check("server ran each execution once", ran == total, ran)
    # /metrics counts its own answer once (the first call, before the run)
    check("server counted every 200", delta('marie_http_responses_total{code="200"}') - 1 == total,
          delta('marie_http_responses_total{code="200"}'))
    check("server counted every 429", delta('marie_http_responses_total{code="429"}') == statuses[429],
          delta('marie_http_responses_total{code="429"}'))
    check("one access-log line per request", log_lines == sent, (log_lines, sent))


def full_server(s: Server, echo: str, loop: str) -> None:
    slow = json.dumps({"component_id": loop,
                       "permissions": {"timeout_ms": 3000, "max_fuel": 10 ** 18}})
    results: list[int] = []

    def hold() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        results.append(post(conn, slow)[0])
        conn.close()

    holders = [threading.Thread(target=hold) for _ in range(LIMIT)]
    for t in holders:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # all admissions taken
        if s.metrics().get("marie_inflight_requests", 0) >= LIMIT:
            break
        time.sleep(0.02)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    small = execute_body(echo, ['{"n":1}'])
    st1, h1, _ = post(conn, small)
    check("small request refused while full", st1 == 429, st1)
    check("the connection is kept", h1.get("connection", "").lower() != "close", h1)
    st2, _, _ = post(conn, small)  # same connection: still answered
    check("the next request on it is answered", st2 in (200, 429), st2)
    conn.close()
    big = execute_body(echo, ["\"" + "x" * 100_000 + "\""])
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    st3, h3, _ = post(conn, big)
    conn.close()
    check("large request refused while full", st3 == 429, st3)
    check("and its connection closed", h3.get("connection", "").lower() == "close", h3)
    for t in holders:
        t.join()
    check("slow executions finished", results == [200] * LIMIT, results)
    print(f"full server: small body 429 then {st2} on the same connection; "
          f"100 KB body 429, connection {h3.get('connection')}")


def past_the_limit(s: Server, echo: str) -> None:
    if not shutil.which("wrk"):
        print("wrk not installed: past-the-limit run skipped")
        return
    rss0, threads0 = s.rss_kib(), s.threads()
    r = run_wrk(s, execute_body(echo, ['{"n":1}']), LIMIT * 32, 3)
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    time.sleep(0.5)  # connection threads end as wrk's connections close
    print(f"wrk, {LIMIT * 32} connections, limit {LIMIT}: {r['status'].get(200, 0)} x 200, "
          f"{r['status'].get(429, 0)} x 429, p99 {r['p99_us'] / 1000:.1f} ms, socket errors "
          f"{errors}; RSS {rss0} -> {s.rss_kib()} KiB, threads {threads0} -> {s.threads()}")
    check("wrk: only 200 and 429", set(r["status"]) <= {200, 429}, r["status"])
    check("wrk: some of each", r["status"].get(200, 0) > 0 and r["status"].get(429, 0) > 0,
          r["status"])
    check("wrk: no socket errors", errors == 0, r)
    check("alive after wrk", s.alive() and b'"ok"' in s.get("/healthz"))
    check("threads back", s.threads() <= threads0 + 2, (threads0, s.threads()))
    if not os.environ.get("MW_SANITIZED"):  # ASan's quarantine holds freed memory
        check("RSS bounded", s.rss_kib() < rss0 + 64 * 1024, (rss0, s.rss_kib()))


def main() -> int:
    s = Server(EXE, "--workers", "2", "--max-concurrency", str(LIMIT),
               "--max-timeout-ms", "60000")
    try:
        echo = s.upload(COMPS / "echo.wasm", "echo")
        loop = s.upload(COMPS / "loop.wasm", "loop")
        exactly_once(s, echo)
        full_server(s, echo, loop)
        past_the_limit(s, echo)
    finally:
        rc = s.close()
    check("exit 0 on SIGTERM", rc == 0, rc)
    if failures:
        print(f"test_load: {len(failures)} check(s) failed; server log {s.log_path}")
        return 1
    shutil.rmtree(s.tmp, ignore_errors=True)
    print("test_load: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
