# Exhausts memory at compile time.
blocks = []
while True:
    blocks.append(bytearray(64 * 1024 * 1024))


def execute(input_items, config, context):
    return {"ok": []}
