"""wrkload.py - drives `marie-wasm serve` with wrk (Debian) for the load
benchmarks (bench/load.py, bench/bench_python.py path (d)) and the load test
(tests/test_load.py).

A Server is a `marie-wasm serve` process on 127.0.0.1 with its own data
directory; run_wrk() runs wrk with bench/wrk_execute.lua against it and
returns what wrk saw: answers by status, latency percentiles, socket errors,
and the server's CPU time over the run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_execute.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`marie-wasm serve` on a free port of 127.0.0.1 with a fresh data dir."""

    def __init__(self, exe: Path, *args: str, log: Path | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="mw-load-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log or self.tmp / "access.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data", str(self.tmp / "data"), *args],
            stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get("/healthz")
                break
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"serve did not start; see {self.log_path}")
                time.sleep(0.05)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return bytes(r.read())

    def post(self, path: str, body: bytes, ctype: str = "application/json") -> Any:
        req = urllib.request.Request(self.base + path, data=body,
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def upload(self, wasm: Path, node_id: str = "load") -> str:
        doc = self.post(f"/v1/components?node_id={node_id}", wasm.read_bytes(),
                        "application/wasm")
        return str(doc["component_id"])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.get("/metrics").decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> int | None:
        """SIGTERM (a drain), then the exit status; SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.tmp / "data", ignore_errors=True)
        return self.proc.returncode


def execute_body(component_id: str, items: list[str]) -> str:
    return json.dumps({"component_id": component_id,
                       "input": [{"json": text} for text in items]})


def run_wrk(server: Server, body: str, connections: int, seconds: float,
            threads: int = 1) -> dict[str, Any]:
    """One wrk run of POST /v1/execute with `body`: answers per status,
    latency percentiles (us), socket errors, requests/s, and the server's
    CPU time per answer (us)."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise FileNotFoundError("wrk not found (Debian package wrk; scripts/setup.sh installs it)")
    env = dict(os.environ, MW_BODY=body)
    cpu0 = server.cpu_seconds()
    out = subprocess.run(
        [wrk, f"-t{min(threads, connections)}", f"-c{connections}",
         f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(LUA),
         f"{server.base}/v1/execute"],
        env=env, capture_output=True, text=True, timeout=seconds + 120, check=True)
    cpu = server.cpu_seconds() - cpu0
    r: dict[str, Any] = {"connections": connections, "status": {}}
    for line in out.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        pairs = dict(p.split("=") for p in rest.split()) if tag.startswith("MW_") else {}
        if tag == "MW_STATUS":
            r["status"] = {int(k): int(v) for k, v in pairs.items()}
        elif tag == "MW_LATENCY_US":
            r.update({k + "_us": int(v) for k, v in pairs.items()})
        elif tag == "MW_SUMMARY":
            r.update({k: int(v) for k, v in pairs.items()})
    if "requests" not in r:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    answered = sum(r["status"].values())
    r["answered"] = answered
    r["rate"] = answered / (r["duration_us"] / 1e6)
    r["ok_rate"] = r["status"].get(200, 0) / (r["duration_us"] / 1e6)
    r["server_cpu_us"] = cpu / max(1, answered) * 1e6
    return r
