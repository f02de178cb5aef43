from marie import kv

CACHED = kv.get("settings")


def execute(input_items, config, context):
    return {"ok": []}
