# Writes outside the sandbox at compile time.
with open("/tmp/marie-escape-python", "w") as f:
    f.write("escaped")


def execute(input_items, config, context):
    return {"ok": []}
