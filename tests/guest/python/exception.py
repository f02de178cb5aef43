def ratio(total, count):
    return total / count


def execute(input_items, config, context):
    print("about to divide")
    return {"ok": [ratio(len(input_items), 0)]}
