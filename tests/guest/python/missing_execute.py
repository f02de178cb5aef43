def run(input_items, config, context):
    return {"ok": []}
