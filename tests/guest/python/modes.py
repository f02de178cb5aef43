# One node, many outcomes: config["mode"] picks what execute returns.
import sys
from dataclasses import dataclass

from marie import http


@dataclass
class Point:
    x: int
    y: int


def deep(n):
    return deep(n + 1) + 1


def execute(input_items, config, context):
    mode = config.get("mode") if isinstance(config, dict) else None
    if mode == "values":
        p = Point(1, 2)
        return {"ok": [
            {"x": p.x, "y": p.y},
            [1, "two", None],
            "plain string",
            42,
            {"json": {"as": "dict"}},
            {"json": "[true]", "binary": bytearray(b"\x01\x02")},
            {"json": "{}", "binary": None},
            {"json": "1", "other": "key"},
        ]}
    if mode == "echo_binary":
        return {"ok": [{"json": it["json"], "binary": it["binary"]} for it in input_items]}
    if mode == "error":
        return {"error": "custom failure"}
    if mode == "err_value":
        return {"err": {"code": 7}}
    if mode == "list":
        return [1, 2]
    if mode == "none":
        return None
    if mode == "two_keys":
        return {"ok": [], "extra": 1}
    if mode == "ok_not_list":
        return {"ok": "x"}
    if mode == "nan":
        return {"ok": [float("nan")]}
    if mode == "set":
        return {"ok": [1, {1, 2}]}
    if mode == "bad_json":
        return {"ok": [{"json": "not json"}]}
    if mode == "bad_binary":
        return {"ok": [{"json": "1", "binary": "text"}]}
    if mode == "http_uncaught":
        http.fetch("https://denied.example.com/")
    if mode == "exit":
        sys.exit(3)
    if mode == "recursion":
        deep(0)
    if mode == "memory":
        blocks = []
        while True:
            blocks.append(bytearray(16 * 1024 * 1024))
    if mode == "loop":
        while True:
            pass
    if mode == "config":
        return {"ok": [config]}
    return {"err": f"unknown mode {mode!r}"}
