#!/usr/bin/env python3
"""CLI tests for `marie-wasm secrets`: drive the real binary on real files
and check stdout, stderr, exit status and the file on disk.

usage: test_cli_secrets.py MARIE_WASM
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="mw-cli-secrets-")
KEY_HEX = bytes(range(32)).hex()
OTHER_HEX = bytes(range(1, 33)).hex()
KEY_B64 = base64.b64encode(bytes(range(32))).decode()
passed = failed = 0


def path(name):
    return os.path.join(TMP, name)


def run(*args, stdin=None, key=KEY_HEX):
    env = {k: v for k, v in os.environ.items() if k != "MW_SECRETS_KEY"}
    if key is not None:
        env["MW_SECRETS_KEY"] = key
    p = subprocess.run([BIN, "secrets", *args], input=stdin, capture_output=True,
                       text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


F = path("s.enc")

# set from stdin (one trailing newline stripped), from --value (with a warning)
rc, out, err = run("set", "API_KEY", "--file", F, stdin="stdin-secret-1\n")
check("set from stdin", rc == 0 and out == "" and "stdin-secret-1" not in err, err)
mode = stat.S_IMODE(os.stat(F).st_mode)
check("file mode 0600", mode == 0o600, oct(mode))
rc, out, err = run("set", "DB_PASS", "--file", F, "--value", "value-secret-2")
check("set --value", rc == 0 and out == "", err)
check("--value warns", "warning" in err and "history" in err, err)
check("warning hides value", "value-secret-2" not in err, err)
with open(F, "rb") as f:
    raw = f.read()
check("encrypted on disk", raw.startswith(b"MWSECRETS\n") and b"stdin-secret-1" not in raw
      and b"value-secret-2" not in raw and b"API_KEY" not in raw, repr(raw[:40]))

# list: names only, sorted, one per line; never values
rc, out, err = run("list", "--file", F)
check("list names", rc == 0 and out == "API_KEY\nDB_PASS\n", out + err)
check("list hides values", "secret-1" not in out + err and "secret-2" not in out + err, out + err)

# the key from a file (base64, trailing newline) opens the same file
kf = path("key.txt")
with open(kf, "w") as f:
    f.write(KEY_B64 + "\n")
rc, out, err = run("list", "--file", F, "--key-file", kf, key=None)
check("--key-file base64", rc == 0 and out == "API_KEY\nDB_PASS\n", out + err)
with open(kf, "w") as f:
    f.write(KEY_HEX + "\n")
rc, out, err = run("set", "FROM_FILE", "--file", F, "--key-file", kf, stdin="x1", key=None)
check("set with --key-file", rc == 0, err)
rc, out, err = run("list", "--file", F, key=KEY_B64)
check("MW_SECRETS_KEY base64", rc == 0 and out == "API_KEY\nDB_PASS\nFROM_FILE\n", out + err)

# The stored values, read back by decrypting the file here (format: magic
# "MWSECRETS\n", version 1, 12-byte nonce, AES-256-GCM of a JSON object with
# the 23-byte header as associated data, 16-byte tag). Needs the Python
# `cryptography` package; without it these checks are skipped.
def decrypt(file, key_hex=KEY_HEX):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    data = open(file, "rb").read()
    plain = AESGCM(bytes.fromhex(key_hex)).decrypt(data[11:23], data[23:], data[:23])
    return json.loads(plain)


rc, out, err = run("set", "MULTI", "--file", F, stdin="line1\nline2\n\n")
check("multi-line stdin", rc == 0, err)
try:
    import cryptography  # noqa: F401
    have_crypto = True
except ImportError:
    have_crypto = False
    print("skipped: file contents (no Python cryptography package)")
if have_crypto:
    doc = decrypt(F)
    check("stdin value, one newline stripped", doc.get("API_KEY") == "stdin-secret-1", doc)
    check("--value stored", doc.get("DB_PASS") == "value-secret-2", doc)
    check("multi-line value kept", doc.get("MULTI") == "line1\nline2\n", doc)
    check("key file value", doc.get("FROM_FILE") == "x1", doc)

# unset
rc, out, err = run("unset", "DB_PASS", "--file", F)
check("unset", rc == 0 and out == "", err)
rc, out, _ = run("list", "--file", F)
check("unset removed", out == "API_KEY\nFROM_FILE\nMULTI\n", out)
rc, out, err = run("unset", "DB_PASS", "--file", F)
check("unset missing name", rc == 64 and "DB_PASS" in err, err)

# missing key -> 64 and a message naming both ways to give one
rc, out, err = run("list", "--file", F, key=None)
check("missing key", rc == 64 and "MW_SECRETS_KEY" in err and "--key-file" in err and out == "", err)
rc, out, err = run("set", "X", "--file", F, "--value", "v", key=None)
check("missing key on set", rc == 64 and "MW_SECRETS_KEY" in err, err)
rc, out, err = run("list", "--file", F, key="not-a-key")
check("malformed key", rc == 64 and "MW_SECRETS_KEY" in err and "not-a-key" not in err, err)
rc, out, err = run("list", "--file", F, "--key-file", path("nokey"), key=None)
check("missing key file", rc == 64 and "nokey" in err, err)

# wrong key -> 64, says nothing about the contents, leaves the file alone
before = open(F, "rb").read()
rc, out, err = run("list", "--file", F, key=OTHER_HEX)
check("wrong key list", rc == 64 and "wrong key or corrupt file" in err and out == "", err)
rc, out, err = run("set", "API_KEY", "--file", F, stdin="overwrite", key=OTHER_HEX)
check("wrong key set", rc == 64 and "wrong key or corrupt file" in err, err)
check("wrong key set keeps file", open(F, "rb").read() == before)
check("wrong key hides key", OTHER_HEX not in err and KEY_HEX not in err, err)

# damaged file
bad = path("bad.enc")
with open(bad, "wb") as f:
    f.write(before[:-1] + bytes([before[-1] ^ 1]))
rc, out, err = run("list", "--file", bad)
check("corrupt file", rc == 64 and "wrong key or corrupt file" in err, err)

# usage errors
rc, _, err = run("set", "--file", F, stdin="v")
check("set without NAME", rc == 64 and "NAME" in err, err)
rc, _, err = run("list")
check("list without --file", rc == 64 and "--file" in err, err)
rc, _, err = run("unset", "A", "--file", F, "--value", "v")
check("unset rejects --value", rc == 64, err)
rc, _, err = run("frobnicate")
check("unknown subcommand", rc == 64 and "frobnicate" in err, err)
rc, _, err = run("set", "", "--file", F, stdin="v")
check("empty name", rc == 64 and "invalid name" in err, err)
rc, _, err = run("list", "--file", path("absent.enc"))
check("missing file", rc == 70 and "absent.enc" in err, err)

# --help for each, with examples
rc, out, _ = run("--help")
check("secrets --help", rc == 0 and "usage: marie-wasm secrets" in out and "example" in out, out)
for sub in ("set", "unset", "list"):
    rc, out, _ = run(sub, "--help", key=None)
    check(f"secrets {sub} --help", rc == 0 and f"usage: marie-wasm secrets {sub}" in out
          and "example" in out, out)

shutil.rmtree(TMP, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
