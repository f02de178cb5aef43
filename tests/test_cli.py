#!/usr/bin/env python3
"""CLI tests: drive the real marie-wasm binary on real components and check
its stdout document, stderr lines and exit status.

usage: test_cli.py MARIE_WASM COMPONENTS_DIR
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

BIN, COMPS = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="mw-cli-")
passed = failed = 0


def comp(name):
    return os.path.join(COMPS, name + ".wasm")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


# ok, with items from stdin and stats
items = json.dumps([{"json": json.dumps({"n": 1})}, {"json": "2", "binary": "aGk="}])
rc, out, err = run("run", comp("echo"), "--input", "-", "--stats", stdin=items)
doc = json.loads(out)
check("echo ok", rc == 0 and doc["ok"] == json.loads(items), out + err)
check("echo stats", doc["stats"]["fuel_used"] > 0 and doc["stats"]["bytes_in"] == 11, out)

# guest err -> exit 1
rc, out, _ = run("run", comp("guesterr"))
check("guest err", rc == 1 and json.loads(out) == {"err": "bad input: expected a number"}, out)

# traps -> exit 2 with the kind
perms = write("fuel.json", '{"max_fuel": 100000}')
rc, out, _ = run("run", comp("loop"), "--permissions", perms)
check("fuel trap", rc == 2 and json.loads(out)["trap"]["kind"] == "fuel_exhausted", out)
perms = write("timeout.json", '{"timeout_ms": 100, "max_fuel": 1000000000000000}')
rc, out, _ = run("run", comp("loop"), "--permissions", perms)
check("timeout trap", rc == 2 and json.loads(out)["trap"]["kind"] == "timeout", out)
rc, out, _ = run("run", comp("recurse"))
check("stack trap", rc == 2 and json.loads(out)["trap"]["kind"] == "stack_overflow", out)

# context and env files
ctx = write("ctx.json", '{"workflow_id": "wf", "execution_id": "e1", "node_id": "n", "run_index": 3}')
env = write("env.json", '{"greeting": "hi"}')
rc, out, _ = run("run", comp("context"), "--context", ctx, "--env", env)
item = json.loads(json.loads(out)["ok"][0]["json"])
check("context", rc == 0 and item["workflow_id"] == "wf" and item["run_index"] == 3
      and json.loads(item["env"]) == {"greeting": "hi"}, out)

# host capabilities: secrets file + permissions; logs/events on stderr
secrets = write("secrets.json", '{"API_KEY": "s3cr3t", "OTHER": "x"}')
perms = write("host.json", json.dumps({"allow_secrets": True, "secret_allowed_names": ["API_KEY"],
                                       "allow_kv": True, "kv_prefix": "t:"}))
cmds = ["secret API_KEY", "secret OTHER", "kv_put k - v1", "kv_get k",
        "log error boom", "event done {}", "print to-stdout"]
inp = write("cmds.json", json.dumps([{"json": c} for c in cmds]))
rc, out, err = run("run", comp("host"), "--input", inp, "--permissions", perms, "--secrets", secrets)
res = [json.loads(i["json"]) for i in json.loads(out)["ok"]]
check("secret allowed", res[0] == {"op": "secret", "found": True, "value": "s3cr3t"}, out)
check("secret denied", res[1] == {"op": "secret", "found": False}, out)
check("kv", res[3] == {"op": "kv_get", "found": True, "value": "v1"}, out)
lines = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
check("log line", any(l["type"] == "log" and l["level"] == "error" and l["message"] == "boom" for l in lines), err)
check("stdout line", any(l["type"] == "log" and l["source"] == "stdout" and l["message"] == "to-stdout" for l in lines), err)
check("event line", any(l["type"] == "event" and l["event_type"] == "done" for l in lines), err)
check("denial logged", any(l["type"] == "log" and l["source"] == "host" and "OTHER" in l["message"] for l in lines), err)

# usage errors name the problem, exit 64
bad = write("bad.json", '{"alow_http": true}')
rc, out, err = run("run", comp("echo"), "--permissions", bad)
check("unknown permission field", rc == 64 and "unknown field 'alow_http'" in err and out == "", err)
bad = write("badin.json", '[{"json": 5}]')
rc, _, err = run("run", comp("echo"), "--input", bad)
check("bad input", rc == 64 and "input[0].json" in err, err)
rc, _, err = run("run", comp("echo"), "--bogus")
check("bad flag", rc == 64, err)
rc, _, err = run("run", os.path.join(TMP, "missing.wasm"))
check("missing file", rc == 70 and "missing.wasm" in err, err)

# inspect and precompile
rc, out, _ = run("inspect", comp("host"))
d = json.loads(out)
check("inspect fits", rc == 0 and d["fits_world"] and set(d["capabilities"]) ==
      {"http", "secrets", "kv", "console", "events"}, out)
rc, out, _ = run("inspect", comp("badimport"))
d = json.loads(out)
check("inspect misfit", rc == 1 and not d["fits_world"] and "evil:net/raw" in d["problems"][0], out)
cw = os.path.join(TMP, "echo.cwasm")
rc, _, err = run("precompile", comp("echo"), "-o", cw)
check("precompile", rc == 0 and os.path.getsize(cw) > 0, err)
rc, out, _ = run("run", cw, "--input", "-", stdin='[{"json": "7"}]')
check("run cwasm", rc == 0 and json.loads(out) == {"ok": [{"json": "7"}]}, out)
rc, _, err = run("run", comp("badimport"))
check("run misfit", rc == 70 and "evil:net/raw" in err, err)

# host backends from the command line
db = os.path.join(TMP, "kv.db")
kvp = write("kvp.json", '{"allow_kv": true, "kv_prefix": "cli:"}')
put = write("put.json", json.dumps([{"json": "kv_put k - persisted"}]))
get = write("get.json", json.dumps([{"json": "kv_get k"}]))
rc, out, err = run("run", comp("host"), "--input", put, "--permissions", kvp, "--kv", "sqlite://" + db)
check("sqlite put", rc == 0 and '\\"ok\\":true' in out, out + err)
rc, out, err = run("run", comp("host"), "--input", get, "--permissions", kvp, "--kv", "sqlite://" + db)
check("sqlite get in a new process", rc == 0 and "persisted" in out, out + err)
rc, out, err = run("run", comp("host"), "--input", get, "--kv", "bogus://x")
check("bad kv url", rc != 0 and "bogus://x" in err, err)

events = os.path.join(TMP, "events.jsonl")
ev = write("ev.json", json.dumps([{"json": "event a 1"}, {"json": "log info to-stderr"}]))
rc, out, err = run("run", comp("host"), "--input", ev, "--events-out", events)
lines = [json.loads(l) for l in open(events)]
check("events-out file", rc == 0 and len(lines) == 1 and lines[0]["event_type"] == "a"
      and lines[0]["payload"] == "1" and "time" in lines[0], str(lines))
check("logs stay on stderr", "to-stderr" in err and '"event_type"' not in err, err)

env = dict(os.environ, MW_SECRET_TOKEN="from-env-123")
sp = write("sp.json", '{"allow_secrets": true, "secret_allowed_names": ["TOKEN"]}')
sec = write("sec.json", json.dumps([{"json": "secret TOKEN"}]))
p = subprocess.run([BIN, "run", comp("host"), "--input", sec, "--permissions", sp,
                    "--secrets-env-prefix", "MW_SECRET_"], capture_output=True, text=True, env=env)
check("secrets from env", p.returncode == 0 and "from-env-123" in p.stdout, p.stdout + p.stderr)
rc, out, err = run("run", comp("host"), "--input", sec, "--secrets", secrets,
                   "--secrets-env-prefix", "MW_SECRET_")
check("one secrets source", rc == 64 and "one of" in err, err)

# http through the CLI to a server on loopback: refused unless allowed
srv = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1",
                        "--directory", TMP], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    port = int(srv.stdout.readline().split("port ")[1].split(" ")[0])
    write("hello.txt", "hello over http")
    hp = write("hp.json", json.dumps({"allow_http": True, "http_allowed_hosts": ["127.0.0.1"]}))
    hreq = write("hreq.json", json.dumps([{"json": f"http GET http://127.0.0.1:{port}/hello.txt"}]))
    rc, out, err = run("run", comp("host"), "--input", hreq, "--permissions", hp)
    check("loopback refused by default", rc == 0 and "loopback" in out and "hello over http" not in out, out)
    rc, out, err = run("run", comp("host"), "--input", hreq, "--permissions", hp, "--allow-private-network")
    check("loopback with --allow-private-network", rc == 0 and "hello over http" in out
          and "warning" in err, out + err)
finally:
    srv.kill()
    srv.wait()

for sub in ("run", "inspect", "precompile"):
    rc, out, _ = run(sub, "--help")
    check(f"{sub} --help", rc == 0 and "usage: marie-wasm " + sub in out and "example" in out, out)

shutil.rmtree(TMP, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
