# Endless output at compile time.
while True:
    print("x" * 4096)


def execute(input_items, config, context):
    return {"ok": []}
