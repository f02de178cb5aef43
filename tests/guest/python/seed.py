def execute(input_items, config, context):
    results = []
    for item in input_items:
        data = json.loads(item["json"])
        results.append({"json": json.dumps({"processed": data})})
    return {"success": results}
