# Uses every host capability; run with tests/guest/python/perms.json.
from marie import HttpError, events, http, kv, log, secrets


def execute(input_items, config, context):
    out = {
        "secret_allowed": secrets.get("API_KEY"),
        "secret_denied": secrets.get("DB_PASSWORD"),
    }

    kv.put("counter", "41", ttl=60)
    kv.put("blob", b"\x00\x01\xff")
    out["kv_text"] = kv.get("counter").decode()
    out["kv_blob"] = list(kv.get("blob"))
    kv.delete("counter")
    out["kv_after_delete"] = kv.get("counter")

    log.debug("debug line")
    log.info("info line")
    log.warn("warn line")
    log.error("error line")
    log.info(f"using key {out['secret_allowed']}")
    print("printed line from", context["node_id"])
    print("last words without newline", end="")

    events.emit("node.done", {"items": len(input_items)})
    events.emit("node.note", "plain text payload")

    try:
        http.fetch("https://denied.example.com/data", headers={"Accept": "application/json"})
        out["http"] = "not denied"
    except HttpError as e:
        out["http"] = f"HttpError: {e}"

    out["config"] = config
    out["context"] = context
    return {"ok": [out, {"json": json.dumps({"has_binary": True}), "binary": b"abc"}]}
