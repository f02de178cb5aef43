# Reads host files at compile time.
shadow = open("/etc/shadow").read()


def execute(input_items, config, context):
    return {"ok": [{"shadow": shadow}]}
