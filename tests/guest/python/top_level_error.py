import json

SETTINGS = json.loads("{broken")


def execute(input_items, config, context):
    return {"ok": []}
