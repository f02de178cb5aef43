#!/usr/bin/env python3
"""Fault injection against the real `marie-wasm serve`: its backends fail
under it while it works, and it must report every failure as a clear error,
lose no write it acknowledged, and recover without a restart. All servers
are real processes on 127.0.0.1 free ports:

1. redis: executions KV-put distinct keys through Redis (appendonly,
   appendfsync always); redis-server is killed -9 mid-stream and restarted
   on the same port. Puts during the outage answer a "kv.put: redis: ..."
   error (and only those: the ones after the restart succeed), a get says
   why in the result's logs, and every acknowledged put is read back. Then
   Redis is restarted while the service is idle: the next puts succeed
   although every pooled connection died.
2. s3: --store s3://... against moto; moto is SIGSTOPped, then killed -9,
   while components are being uploaded. Uploads answer 502 storage_error
   naming the object (timed out while moto is stopped, refused once it is
   dead; no credential in the message), components in memory keep running,
   an unknown component is a 502 (not a 404), and once moto is back
   (in-memory: the bucket is made again) the same process stores again; a
   second process loads that component from S3.
3. disk full (root only: a small tmpfs holds --data): uploads answer
   ENOSPC, also when only the .wasm fits; KV puts are acknowledged or
   refused as "disk is full"; nothing partial is left where a reader would
   take it for an artifact; freeing space makes everything work again.
4. corrupt artifacts: first, 8 clients registering one component at once
   all get 201 and leave a whole store (writes are atomic against each
   other too). Then a byte-flipped, truncated or empty .cwasm is refused
   by its hash and the component compiled from the .wasm, also when the
   engine-cache entry in --data is truncated or its code overwritten; a
   truncated .wasm is a 409 artifact_mismatch (by component_id with an
   intact .cwasm it is not needed); a corrupt record is a 409;
   re-uploading repairs the store. The server never goes down.
5. SIGKILL: concurrent KV puts into the default SQLite KV (--data) and
   uploads; the server is killed -9 mid-stream; a new server on the same
   --data reads every acknowledged put back (so does sqlite3 on kv.db), and
   every acknowledged upload is whole.

usage: test_faults.py MARIE_WASM COMPONENTS_DIR
Prints one figure per scenario; exits 1 on a failure, 77 when redis-server
or moto_server (scripts/install-test-tools.sh) is missing.
Environment: MW_FAULTS_ONLY=redis,s3,disk_full,corrupt,sigkill runs only
those scenarios.
"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

BIN, COMPS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
HTTP_TIMEOUT = 90  # a request not answered by then is a hang
UP_TIMEOUT = 90    # for a process to start listening

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
MOTO = os.environ.get("MW_TEST_MOTO_SERVER") or os.path.join(
    os.environ.get("MW_S3_VENV", os.path.expanduser("~/.cache/marie-wasm/s3-venv")), "bin", "moto_server")
for exe, what in ((REDIS, "redis-server"), (MOTO, "moto_server (scripts/install-test-tools.sh)")):
    if not os.access(exe, os.X_OK):
        print(f"test_faults: SKIPPED: {what} not found at {exe}")
        sys.exit(77)

TMP = tempfile.mkdtemp(prefix="mw-faults-")
CHILDREN = []  # every process started, killed at the end if still running
SERVERS = []   # every Serve, for its log when a scenario fails


class Failure(AssertionError):
    pass


def expect(cond, what, detail=""):
    if not cond:
        raise Failure(f"{what}: {str(detail)[:2500]}")


def comp(name):
    return os.path.join(COMPS, name + ".wasm")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv, log, env=None):
    p = subprocess.Popen(argv, stdout=log, stderr=log, env=env, cwd=TMP)
    CHILDREN.append(p)
    return p


def wait_until(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise Failure(f"timed out waiting for {what}")


def kill9(p):
    if p.poll() is None:
        p.kill()
    p.wait()


# ---- the service ----------------------------------------------------------------

class Resp:
    def __init__(self, status, body):
        self.status, self.body = status, body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def error(self):
        """(code, message) of an error body, or None when it is not one."""
        e = self.json.get("error") if isinstance(self.json, dict) else None
        if isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("message"), str):
            return e["code"], e["message"]
        return None

    def __repr__(self):
        return f"{self.status} {self.body[:800]!r}"


class Serve:
    def __init__(self, name, *args, data=None, env=None):
        self.port = free_port()
        self.data = data or tempfile.mkdtemp(dir=TMP, prefix=name + "-data-")
        self.logpath = os.path.join(TMP, f"serve-{name}-{self.port}.log")
        self.log = open(self.logpath, "w")
        SERVERS.append(self)
        argv = [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.data, *args]
        self.proc = spawn(argv, self.log, dict(os.environ, **(env or {})))
        deadline = time.time() + UP_TIMEOUT
        while True:
            expect(self.proc.poll() is None, f"serve {name} exited {self.proc.returncode}", self.logtext())
            try:
                if self.call("GET", "/healthz", timeout=5).status == 200:
                    return
            except OSError:
                pass
            expect(time.time() < deadline, f"serve {name} did not come up", self.logtext())
            time.sleep(0.1)

    def call(self, method, path, body=None, ctype="application/json", timeout=HTTP_TIMEOUT):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": ctype} if body is not None else {})
            r = conn.getresponse()
            return Resp(r.status, r.read())
        finally:
            conn.close()

    def upload(self, name, node_id):
        return self.call("POST", f"/v1/components?node_id={node_id}", read(comp(name)), "application/wasm")

    def execute(self, cid, cmds=None, prefix=None, items=None):
        doc = {"component_id": cid, "input": items if items is not None else [{"json": c} for c in cmds]}
        if prefix:
            doc["permissions"] = {"allow_kv": True, "kv_prefix": prefix}
        return self.call("POST", "/v1/execute", doc)

    def metric(self, name):
        for line in self.call("GET", "/metrics").body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def alive(self):
        return self.proc.poll() is None and self.call("GET", "/healthz", timeout=30).status == 200

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def warnings(self):
        out = []
        for line in self.logtext().splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("level") == "warn":
                out.append(doc)
        return out

    def stop(self):
        """SIGTERM; the exit status (a clean drain is 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc

    def stop_cleanly(self, what):
        rc = self.stop()
        expect(rc == 0, f"{what}: the server exits 0 on SIGTERM after the faults, got {rc}",
               self.logtext()[-3000:])


def ok_items(resp):
    """The result objects of a 200 ok execution."""
    expect(resp.status == 200 and resp.json and "ok" in resp.json, "execution answered ok", resp)
    return [json.loads(i["json"]) for i in resp.json["ok"]]


def read_back(s, cid, prefix, expected):
    """Reads every key of expected (key -> value) through kv_get executions;
    returns the keys missing or wrong."""
    bad = []
    keys = sorted(expected)
    for i in range(0, len(keys), 100):
        chunk = keys[i:i + 100]
        got = ok_items(s.execute(cid, [f"kv_get {k}" for k in chunk], prefix))
        for k, g in zip(chunk, got):
            if g != {"op": "kv_get", "found": True, "value": expected[k]}:
                bad.append((k, g))
    return bad


# ---- a stream of KV puts ------------------------------------------------------------

class Writers:
    """n threads, each executing one kv_put of a fresh key after another.
    Every attempt is classified: acked (HTTP 200 and {"ok": true}), refused
    (any other answer: kept for the caller to judge) or cut (no answer: the
    connection failed; with stop_on_cut the thread stops)."""

    def __init__(self, s, cid, prefix, tag, n, stop_on_cut=False):
        self.s, self.cid, self.prefix, self.tag = s, cid, prefix, tag
        self.stop_on_cut = stop_on_cut
        self.lock = threading.Lock()
        self.acked = {}     # key -> (value, start, end)
        self.refused = []   # (key, start, end, Resp)
        self.cut = {}       # key -> value
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(n)]
        for t in self.threads:
            t.start()

    def run(self, t):
        i = 0
        while not self.done.is_set():
            key, value = f"{self.tag}-{t}-{i}", f"v-{t}-{i}-{os.urandom(4).hex()}"
            i += 1
            start = time.time()
            try:
                r = self.s.execute(self.cid, [f"kv_put {key} - {value}"], self.prefix)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.cut[key] = value
                if self.stop_on_cut:
                    return
                time.sleep(0.05)
                continue
            end = time.time()
            with self.lock:
                if r.status == 200 and r.json and r.json.get("ok") and \
                        json.loads(r.json["ok"][0]["json"]) == {"op": "kv_put", "ok": True}:
                    self.acked[key] = (value, start, end)
                else:
                    self.refused.append((key, start, end, r))

    def count(self):
        with self.lock:
            return len(self.acked), len(self.refused), len(self.cut)

    def wait(self, what, timeout, acked=0, refused=0, acked_after=None):
        def enough():
            with self.lock:
                a = self.acked if acked_after is None else \
                    [k for k, v in self.acked.items() if v[1] >= acked_after]
                return len(a) >= acked and len(self.refused) >= refused
        wait_until(enough, timeout, f"{what} (acked/refused/cut so far: {self.count()})")

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(timeout=HTTP_TIMEOUT + 30)
            expect(not t.is_alive(), "a writer thread hangs", self.tag)

    def values(self):
        return {k: v[0] for k, v in self.acked.items()}


def put_error(r):
    """The message of a refused put: the guest's error, or the HTTP error's."""
    if r.status == 200 and r.json and r.json.get("ok"):
        item = json.loads(r.json["ok"][0]["json"])
        if item.get("ok") is False and isinstance(item.get("error"), str):
            return item["error"]
    if r.status >= 500 and r.error():
        return r.error()[1]
    return None


# ---- 1. Redis killed and restarted mid-run ---------------------------------------------

def start_redis(port, d):
    p = spawn([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
               "--appendonly", "yes", "--appendfsync", "always"], subprocess.DEVNULL)

    def pong():
        expect(p.poll() is None, "redis-server exited", p.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(b"PING\r\n")
                return c.recv(16).startswith(b"+PONG")  # not -LOADING
        except OSError:
            return False
    wait_until(pong, UP_TIMEOUT, "redis-server")
    return p


def scenario_redis():
    rdir = tempfile.mkdtemp(dir=TMP, prefix="redis-")
    rport = free_port()
    redis = start_redis(rport, rdir)
    s = Serve("redis", "--kv", f"redis://127.0.0.1:{rport}/0", "--workers", "4")
    cid = s.upload("host", "kvhost").json["component_id"]
    w = Writers(s, cid, "faults-redis", "r", 6)
    try:
        w.wait("puts through redis", 60, acked=150)
        t_down = time.time()
        kill9(redis)
        w.wait("puts refused while redis is down", 60, refused=12)
        time.sleep(0.5)  # a longer outage than the first refusals
        # A get cannot fail in the interface (option<value>): it answers
        # not-found, and the result's logs say why.
        some_key = next(iter(w.values()))
        r = s.execute(cid, [f"kv_get {some_key}"], "faults-redis")
        expect(ok_items(r) == [{"op": "kv_get", "found": False}] and
               any("kv.get: redis:" in l["message"] and l["level"] == "warn" for l in r.json["logs"]),
               "a get during the outage is not-found with the reason in the logs", r)
        redis = start_redis(rport, rdir)  # the same port, the same AOF
        t_up = time.time()
        w.wait("puts through the restarted redis", 90, acked=150, acked_after=t_up)
    finally:
        w.stop()

    expect(not w.cut, "every put was answered (no connection failed)", list(w.cut)[:5])
    messages = {}
    for key, start, end, r in w.refused:
        msg = put_error(r)
        expect(msg and "kv" in msg and "redis" in msg,
               "a put during the outage is refused with a clear kv/redis error", r)
        expect(end >= t_down and start <= t_up,
               "only puts during the outage are refused (recovery is immediate)",
               (key, start - t_down, t_up - start, r))
        messages[msg] = messages.get(msg, 0) + 1
    expect(all("127.0.0.1" not in m for m in messages), "the guest is not told the Redis address", messages)

    # Redis restarted while the service is idle: its pooled connections are
    # all dead, yet the very next puts must succeed.
    kill9(redis)
    redis = start_redis(rport, rdir)
    idle_acked, refused = kv_batch(s, cid, "faults-redis", "idle", 10)
    expect(not refused, "puts right after a restart of redis while idle succeed", refused)

    bad = read_back(s, cid, "faults-redis", {**w.values(), **idle_acked})
    expect(not bad, "every acknowledged put survives the kill -9 of redis", bad[:5])
    expect(s.alive(), "the same serve process is still up", s.logtext()[-2000:])
    s.stop_cleanly("redis")
    kill9(redis)
    acked = len(w.acked) + len(idle_acked)
    print(f"redis: {acked} writes acked, {acked} survived two kill -9 and restarts, "
          f"{len(w.refused)} refused during the outage: " +
          ", ".join(f"{n} {m!r}" for m, n in sorted(messages.items(), key=lambda x: -x[1])) +
          "; after a restart while idle the next 10 puts all succeeded")


# ---- 2. the S3 server stopped mid-upload ---------------------------------------------------

BUCKET = "mw-faults"


def start_moto(port):
    p = spawn([MOTO, "-H", "127.0.0.1", "-p", str(port)], open(os.path.join(TMP, f"moto-{port}.log"), "a"))
    base = f"http://127.0.0.1:{port}"

    def up():
        expect(p.poll() is None, "moto_server exited", p.returncode)
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            return True
        except OSError:
            return False
    wait_until(up, UP_TIMEOUT, "moto_server")
    return p


def make_bucket(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{BUCKET}", method="PUT")
    urllib.request.urlopen(req, timeout=30).read()


def scenario_s3():
    mport = free_port()
    moto = start_moto(mport)
    make_bucket(mport)
    secret = "faults-secret-" + os.urandom(8).hex()
    env = {"AWS_ACCESS_KEY_ID": "AKIAFAULTS", "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
           "MW_S3_ENDPOINT": f"http://127.0.0.1:{mport}", "MW_S3_TIMEOUT_MS": "8000"}
    store = f"s3://{BUCKET}/run"
    s = Serve("s3", "--store", store, env=env)
    b = None
    try:
        r = s.upload("echo", "echo")
        expect(r.status == 201, "upload to S3", r)
        echo = r.json["component_id"]

        # One client uploading host.wasm under node after node (each a new
        # key: compiled, then three objects put); moto dies under it.
        results, done = [], threading.Event()

        def uploader():
            i = 0
            while not done.is_set():
                try:
                    results.append(s.upload("host", f"up-{i}"))
                except (OSError, http.client.HTTPException) as e:
                    results.append(e)
                i += 1
        t = threading.Thread(target=uploader, daemon=True)
        t.start()
        wait_until(lambda: sum(isinstance(x, Resp) and x.status == 201 for x in results) >= 3, 90,
                   "uploads to S3")
        # Stopped mid-upload: the connection stays open and silent, so the
        # upload in flight can only end by the store's deadline.
        def n_refused():
            return sum(not (isinstance(x, Resp) and x.status == 201) for x in results)
        moto.send_signal(signal.SIGSTOP)
        wait_until(lambda: n_refused() >= 1, 120, f"an upload refused while moto is stopped: {results[-2:]}")
        kill9(moto)  # then gone: connections refused
        wait_until(lambda: n_refused() >= 4, 120, f"uploads refused while moto is dead: {results[-3:]}")
        done.set()
        t.join(timeout=HTTP_TIMEOUT + 30)
        expect(not t.is_alive(), "the uploader hangs")
        acked = [x for x in results if isinstance(x, Resp) and x.status == 201]
        refused = [x for x in results if not (isinstance(x, Resp) and x.status == 201)]
        kinds = {}
        for x in refused:
            expect(isinstance(x, Resp), "every upload is answered (the server stays up)", x)
            expect(x.status == 502 and x.error() and x.error()[0] == "storage_error" and
                   f"s3 put {store}/wasm/" in x.error()[1],
                   "an upload while S3 is down is a 502 storage_error naming the object", x)
            expect(secret not in x.error()[1], "no credential in the message", x)
            msg = x.error()[1]
            kind = "timed out" if "timed out" in msg else "connection refused" if "connect" in msg else msg
            kinds[kind] = kinds.get(kind, 0) + 1
        expect("timed out" in kinds and "connection refused" in kinds,
               "a stopped S3 times out, a dead one refuses", [x.error() for x in refused])

        # While S3 is down: what is in memory runs; what is not is a 502, not a 404.
        r = s.execute(echo, items=[{"json": "1"}])
        expect(r.status == 200 and r.json.get("ok") == [{"json": "1"}], "a cached component runs while S3 is down", r)
        r = s.execute("ab" * 32, items=[])
        expect(r.status == 502 and r.error()[0] == "storage_error" and "s3 get" in r.error()[1],
               "an unknown component while S3 is down is a 502 storage_error, not a 404", r)
        expect(s.alive(), "the server is up", s.logtext()[-2000:])

        # moto back, in memory: the bucket is gone until it is made again.
        moto = start_moto(mport)
        r = s.upload("host", "after-restart")
        expect(r.status == 502 and "NoSuchBucket" in r.error()[1], "a missing bucket is a clear 502", r)
        make_bucket(mport)
        r = s.upload("host", "after-restart")
        expect(r.status == 201, "the same process stores again once S3 is back", r)
        host = r.json["component_id"]
        r = s.execute(host, ["log info back"])
        expect(ok_items(r) == [{"op": "log"}], "and runs what it stored", r)
        # A second process finds it in S3 (record, .cwasm), not in memory.
        b = Serve("s3-b", "--store", store, env=env)
        r = b.execute(host, ["log info from-b"])
        expect(ok_items(r) == [{"op": "log"}], "a second server loads the component from S3", r)
        expect(not [x for x in b.warnings() if "native artifact" in x["msg"]],
               "it mapped the stored native artifact", b.warnings())
        b.stop_cleanly("s3 second server")
        s.stop_cleanly("s3")
    finally:
        kill9(moto)
    print(f"s3: {len(acked)} uploads acked, then {len(refused)} refused with 502 storage_error ("
          f"{kinds['timed out']} timed out while moto was SIGSTOPped mid-upload, "
          f"{kinds['connection refused']} connection refused after its kill -9); "
          f"recovered in the same process, a second process loads the new upload from S3")


# ---- 3. disk full ------------------------------------------------------------------------

def tree_problems(data):
    """(problems, leftovers): anything under data/store that a reader could
    take for an artifact but is not one; temporary files left behind."""
    problems, leftovers = [], []
    store = os.path.join(data, "store")
    for root, _, files in os.walk(store):
        for f in files:
            p = os.path.join(root, f)
            if ".tmp." in f:
                leftovers.append(p)
            elif f.endswith(".wasm"):
                if hashlib.sha256(read(p)).hexdigest()[:24] != f[:-5]:
                    problems.append(("a .wasm that is not what its name says", p))
            elif f.endswith(".json"):
                try:
                    rec = json.loads(read(p))
                    for k, h in ((rec["key"], rec["sha256"]), (rec["cwasm_key"], rec["cwasm_sha256"])):
                        if hashlib.sha256(read(os.path.join(store, k))).hexdigest() != h:
                            problems.append(("a record whose artifact does not match", p, k))
                except (ValueError, KeyError, OSError) as e:
                    problems.append(("a record that is not whole", p, repr(e)))
    leftovers += [os.path.join(data, "tmp", f) for f in os.listdir(os.path.join(data, "tmp"))]
    return problems, leftovers


def fill(path):
    """Writes path until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\xaa" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def kv_batch(s, cid, prefix, tag, n):
    """n puts one by one: (acked {key: value}, refused [(key, message)])."""
    acked, refused = {}, []
    for i in range(n):
        key, value = f"{tag}-{i}", f"value-{tag}-{i}"
        r = s.execute(cid, [f"kv_put {key} - {value}"], prefix)
        item = ok_items(r)[0]
        if item == {"op": "kv_put", "ok": True}:
            acked[key] = value
        else:
            refused.append((key, item.get("error")))
    return acked, refused


def scenario_disk_full():
    if os.geteuid() != 0:
        print("disk-full: SKIPPED: not root, cannot mount a tmpfs")
        return
    mnt = tempfile.mkdtemp(dir=TMP, prefix="tmpfs-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(f"disk-full: SKIPPED: mount -t tmpfs failed: {p.stderr.strip()}")
        return
    try:
        data = os.path.join(mnt, "data")
        s = Serve("diskfull", "--workers", "1", data=data)
        echo = s.upload("echo", "echo").json["component_id"]
        host = s.upload("host", "host").json["component_id"]
        acked, refused = kv_batch(s, host, "disk", "before", 20)
        expect(len(acked) == 20 and not refused, "KV puts with room to spare", refused)

        filler = os.path.join(mnt, "filler")
        fill(filler)
        expect(os.statvfs(mnt).f_bavail == 0, "the tmpfs is full", os.statvfs(mnt))
        ctx = read(comp("context"))
        ctx_id = hashlib.sha256(ctx).hexdigest()
        r = s.upload("context", "ctx")
        expect(r.status == 502 and r.error()[0] == "storage_error" and
               "No space left on device" in r.error()[1], "an upload to a full disk names ENOSPC", r)
        expect(s.call("GET", f"/v1/components/{ctx_id}").status == 404, "the failed upload is not registered")
        expect(tree_problems(data) == ([], []), "nothing partial is left", tree_problems(data))
        # What is registered still runs; KV puts are acked or refused clearly.
        expect(ok_items(s.execute(echo, items=[{"json": "2"}])) == [2], "echo runs on a full disk")
        a2, refused = kv_batch(s, host, "disk", "full", 30)
        acked.update(a2)
        for key, msg in refused:
            expect(msg and "kv" in msg and ("disk is full" in msg or "No space" in msg),
                   "a KV put on a full disk is refused saying so", (key, msg))
        full_refused, full_msg = len(refused), refused[0][1] if refused else None

        # Room for the .wasm only: the native artifact does not fit.
        with open(filler, "r+b") as f:
            f.truncate(os.path.getsize(filler) - (len(ctx) // 4096 + 2) * 4096)
        r = s.upload("context", "ctx")
        expect(r.status >= 500 and r.error() and "No space left on device" in r.error()[1],
               "an upload whose native artifact does not fit names ENOSPC", r)
        wasm_only = os.path.exists(os.path.join(data, "store", "wasm", "nodes", "ctx", ctx_id[:24] + ".wasm"))
        expect(s.call("GET", f"/v1/components/{ctx_id}").status == 404,
               "a component whose native artifact did not fit is not registered")
        expect(tree_problems(data) == ([], []), "nothing partial is left", tree_problems(data))

        os.unlink(filler)
        r = s.upload("context", "ctx")
        expect(r.status == 201 and r.json["component_id"] == ctx_id, "uploads work again once space is freed", r)
        r = s.execute(ctx_id, items=[{"json": "1"}])
        expect(ok_items(r)[0]["count"] == 1, "and the component runs", r)
        a3, refused = kv_batch(s, host, "disk", "after", 20)
        expect(len(a3) == 20 and not refused, "KV puts work again once space is freed", refused)
        acked.update(a3)
        bad = read_back(s, host, "disk", acked)
        expect(not bad, "every acknowledged KV put is readable", bad[:5])
        expect(tree_problems(data) == ([], []), "the store is whole", tree_problems(data))
        s.stop_cleanly("disk-full")
        print(f"disk-full: uploads refused with 502 ENOSPC when full and when only the .wasm fit"
              f"{' (it stayed, complete but unregistered)' if wasm_only else ''}, "
              f"{full_refused} of 30 KV puts refused as {full_msg!r}, {len(acked)} acked and all readable; "
              f"recovered in the same process")
    finally:
        for child in CHILDREN:  # whatever holds files open there
            if any(mnt in str(a) for a in child.args):
                kill9(child)
        if subprocess.run(["umount", mnt]).returncode != 0:
            subprocess.run(["umount", "-l", mnt])


# ---- 4. corrupt and truncated artifacts in the store --------------------------------------

def elf_text(data):
    """(offset, size) of the .text section of an ELF64 little-endian file."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    entsize, num, strndx = struct.unpack_from("<HHH", data, 0x3a)

    def sh(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * entsize)
    names = sh(strndx)[4]
    for i in range(num):
        name, _, _, _, off, size = sh(i)
        if data[names + name:names + name + 6] == b".text\0":
            return off, size
    raise Failure("no .text section in the engine-cache entry")


def scenario_corrupt():
    # One entry in memory: running echo evicts host, so host is loaded
    # from the store again each time.
    s = Serve("corrupt", "--cache-entries", "1")
    store = os.path.join(s.data, "store")
    host = s.upload("host", "victim").json["component_id"]
    echo = s.upload("echo", "other").json["component_id"]
    node = os.path.join(store, "wasm", "nodes", "victim", host[:24])
    wasm_path, cwasm_path = node + ".wasm", node + ".cwasm"
    record = os.path.join(store, "wasm", "components", host + ".json")
    key = f"wasm/nodes/victim/{host[:24]}.wasm"
    wasm, cwasm, rec = read(wasm_path), read(cwasm_path), read(record)
    outcomes = []

    # The store's writes are atomic also against each other: the same
    # component registered by 8 clients at once (same files) is 8 x 201.
    for n in range(3):
        res = []
        ts = [threading.Thread(target=lambda n=n: res.append(s.upload("echo", f"twice-{n}"))) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        expect(len(res) == 8 and all(r.status == 201 for r in res),
               "concurrent registrations of one component all succeed", [r for r in res if r.status != 201][:2])
    expect(tree_problems(s.data) == ([], []), "and leave a whole store", tree_problems(s.data))
    outcomes.append("24 concurrent registrations: 201")

    def write(path, data, in_place=True):
        """In place (a mapping of the file would see it) or by rename."""
        with open(path if in_place else path + ".new", "wb") as f:
            f.write(data)
        if not in_place:
            os.rename(path + ".new", path)

    def run_host(by_key=False):
        """Evicts host, then executes it (by id or by key)."""
        expect(ok_items(s.execute(echo, items=[{"json": "0"}])) == [0], "echo runs")
        misses = s.metric("marie_component_cache_misses_total")
        warns = len(s.warnings())
        doc = {"key": key} if by_key else {"component_id": host}
        doc["input"] = [{"json": "log info hi"}]
        r = s.call("POST", "/v1/execute", doc)
        if not by_key:  # by key, the .wasm is read (and checked) before the cache is asked
            expect(s.metric("marie_component_cache_misses_total") == misses + 1, "host was loaded from the store")
        return r, s.warnings()[warns:]

    def works(what, r, warns, refused_native):
        expect(ok_items(r) == [{"op": "log"}], f"{what}: the component still runs", r)
        expect(bool(warns) == refused_native and all(
            w["msg"] == "native artifact refused; compiling the .wasm" and "corrupt" in w["error"] for w in warns),
            f"{what}: the refused native artifact is logged", warns)
        outcomes.append(f"{what}: 200" + (" (recompiled)" if refused_native else ""))

    def refused(what, r, needle):
        expect(r.status == 409 and r.error()[0] == "artifact_mismatch" and needle in r.error()[1],
               f"{what}: a 409 artifact_mismatch", r)
        outcomes.append(f"{what}: 409")

    flipped = bytearray(cwasm)
    for i in range(len(flipped) // 3, len(flipped) // 3 + 64):
        flipped[i] ^= 0xff
    write(cwasm_path, bytes(flipped))
    works("flipped .cwasm", *run_host(), True)
    write(cwasm_path, cwasm[:len(cwasm) // 2])
    works("truncated .cwasm", *run_host(), True)
    write(cwasm_path, b"")
    works("empty .cwasm", *run_host(), True)
    # "Compiling the .wasm" first looks in the engine cache in --data, which
    # holds native code too: damage there must mean compiling, not running it.
    cache = os.path.join(s.data, "engine-cache")
    entries = [os.path.join(cache, f) for f in os.listdir(cache) if f.startswith(host) and f.endswith(".cwasm")]
    expect(len(entries) == 1, "one engine-cache entry for host", os.listdir(cache))
    entry = read(entries[0])
    write(entries[0], entry[:len(entry) // 2])
    works("empty .cwasm + engine-cache entry truncated in place", *run_host(), True)
    expect(read(entries[0]) == entry, "the engine-cache entry is written again")
    off, size = elf_text(entry)
    damaged = entry[:off] + b"\xcc" * size + entry[off + size:]  # int3 all over the code
    write(entries[0], damaged, in_place=False)
    works("empty .cwasm + engine-cache code replaced by int3", *run_host(), True)
    expect(read(entries[0]) == entry, "the engine-cache entry is written again")

    write(wasm_path, wasm[:len(wasm) // 2])
    r, _ = run_host()
    refused("truncated .wasm + bad .cwasm", r, f"'{key}' is corrupt")
    r, _ = run_host(by_key=True)
    refused("truncated .wasm by key", r, "the stored bytes hash to")
    write(cwasm_path, cwasm)
    works("truncated .wasm + good .cwasm", *run_host(), False)  # the .wasm is not read

    write(record, rec[:len(rec) // 2])
    r, _ = run_host()
    refused("truncated record", r, "record is corrupt")
    write(cwasm_path, bytes(flipped))

    expect(s.alive(), "the server survives the corrupt artifacts", s.logtext()[-2000:])
    expect(ok_items(s.execute(echo, items=[{"json": "3"}])) == [3], "other components still run")
    # Registering the component again rewrites what was damaged.
    r = s.upload("host", "victim")
    expect(r.status == 201 and r.json["component_id"] == host, "re-upload", r)
    expect(read(wasm_path) == wasm and read(record) != rec[:len(rec) // 2] and
           hashlib.sha256(read(cwasm_path)).hexdigest() == json.loads(read(record))["cwasm_sha256"],
           "re-uploading repairs the store")
    works("after re-upload", *run_host(), False)
    s.stop_cleanly("corrupt")
    print("corrupt: " + "; ".join(outcomes) + "; the server stayed up")


# ---- 5. SIGKILL of the service during KV writes --------------------------------------------

def scenario_sigkill():
    a = Serve("kill-a", "--workers", "2")
    data = a.data
    cid = a.upload("host", "kvhost").json["component_id"]
    # Uploads go on too (each a new node_id: three files written), so the
    # kill may also land in the middle of a store write.
    uploads, done = [], threading.Event()

    def uploader():
        i = 0
        while not done.is_set():
            try:
                uploads.append((i, a.upload("host", f"up-{i}")))
            except (OSError, http.client.HTTPException):
                return
            i += 1
    t = threading.Thread(target=uploader, daemon=True)
    t.start()
    w = Writers(a, cid, "faults-kill", "k", 6, stop_on_cut=True)
    try:
        w.wait("puts into sqlite", 90, acked=400)
        wait_until(lambda: len(uploads) >= 3, 90, "uploads")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.log.close()
    finally:
        done.set()
        w.stop()
        t.join(timeout=HTTP_TIMEOUT + 30)
    expect(not w.refused, "no put is refused before the kill", w.refused[:3])
    acked = w.values()
    up_acked = [i for i, r in uploads if r.status == 201]
    expect(len(up_acked) == len(uploads), "uploads before the kill succeed", uploads[-3:])

    b = Serve("kill-b", "--workers", "2", data=data)
    bad = read_back(b, cid, "faults-kill", acked)
    expect(not bad, "every put acknowledged before the SIGKILL is read back by a new server", bad[:5])
    landed = len(w.cut) - len(read_back(b, cid, "faults-kill", w.cut))
    more, refused = kv_batch(b, cid, "faults-kill", "after", 20)
    expect(len(more) == 20 and not refused, "the new server writes", refused)
    problems, leftovers = tree_problems(data)
    expect(not problems, "the SIGKILL left nothing partial that looks like an artifact", problems)
    for i in up_acked:
        p = os.path.join(data, "store", "wasm", "nodes", f"up-{i}", cid[:24])
        expect(os.path.exists(p + ".wasm") and os.path.getsize(p + ".cwasm") > 0,
               "every acknowledged upload is in the store", p)
    r = b.call("POST", "/v1/execute", {"key": f"wasm/nodes/up-{up_acked[-1]}/{cid[:24]}.wasm",
                                       "input": [{"json": "log info x"}]})
    expect(ok_items(r) == [{"op": "log"}], "the last acknowledged upload runs on the new server", r)
    b.stop_cleanly("sigkill, the second server")

    db = sqlite3.connect(f"file:{os.path.join(data, 'kv.db')}?mode=ro", uri=True)
    try:
        expect(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "kv.db is intact")
        missing = []
        for k, v in {**acked, **more}.items():
            row = db.execute("SELECT value FROM kv WHERE key = ?", (b"faults-kill\x1f" + k.encode(),)).fetchone()
            if not row or bytes(row[0]) != v.encode():
                missing.append((k, row))
        expect(not missing, "sqlite3 finds every acknowledged put in kv.db", missing[:5])
    finally:
        db.close()
    print(f"sigkill: {len(acked)} puts acked before the SIGKILL, {len(acked)} survived "
          f"(read back through a new server and with sqlite3); {len(w.cut)} in flight unanswered, "
          f"{landed} of them landed; {len(up_acked)} uploads acked and intact, "
          f"{len(leftovers)} temporary files left behind")


def main():
    scenarios = [scenario_redis, scenario_s3, scenario_disk_full, scenario_corrupt, scenario_sigkill]
    only = os.environ.get("MW_FAULTS_ONLY")  # e.g. "redis,s3" while debugging
    failed = []
    t0 = time.time()
    for fn in scenarios:
        name = fn.__name__[len("scenario_"):]
        if only and name not in only.split(","):
            continue
        started, servers = len(CHILDREN), len(SERVERS)
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any escape is this scenario's failure
            failed.append(name)
            print(f"FAIL {name}: " + (str(e) if isinstance(e, Failure) else traceback.format_exc()))
            for s in SERVERS[servers:]:
                with open(s.logpath, errors="replace") as f:
                    tail = f.read()[-3000:]
                print(f"--- serve {' '.join(s.proc.args[2:])} (exit {s.proc.poll()}), log tail:\n{tail}")
        finally:
            for p in CHILDREN[started:]:
                kill9(p)
    print(f"{len(failed)} failed: {', '.join(failed)}" if failed else
          f"all scenarios passed in {time.time() - t0:.0f} s")
    return 1 if failed else 0


try:
    rc = main()
finally:
    for p in CHILDREN:
        kill9(p)
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(rc)
