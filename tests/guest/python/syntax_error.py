def execute(input_items, config, context):
    results = []
    for item in input_items
        results.append(item)
    return {"ok": results}
