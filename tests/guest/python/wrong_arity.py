import json


def execute(input_items, config):
    return {"ok": [json.loads(i["json"]) for i in input_items]}
