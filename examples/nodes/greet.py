# Greets each item by name and counts visits in the node's key-value store.
# Without allow_kv the put is refused by the host and the node says so.
from marie import kv, log, http, HttpError, KvError


def execute(input_items, config, context):
    seen = int(kv.get("visits") or b"0")
    try:
        kv.put("visits", str(seen + len(input_items)))
    except KvError as e:
        return {"err": f"cannot count visits: {e}"}
    if "url" in config:
        try:
            http.fetch(config["url"])
        except HttpError as e:
            return {"err": str(e)}
    log.info(f"greeted {len(input_items)} items, {seen + len(input_items)} so far")
    return {"ok": [{"greeting": f"Hello, {json.loads(i['json'])['name']}!", "lang": "python",
                    "visits": seen + n + 1} for n, i in enumerate(input_items)]}
