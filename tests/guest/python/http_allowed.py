# Real requests to the loopback test server (tests/http_server.py);
# config["base"] is its URL.
from marie import http


def execute(input_items, config, context):
    base = config["base"]
    plain = http.fetch(base + "/plain")
    echo = http.fetch(base + "/echo", method="post", headers=[("X-Test", "v1")],
                      json={"a": 1})
    missing = http.fetch(base + "/status/404")
    return {"ok": [{
        "plain_status": plain.status,
        "plain_text": plain.text(),
        "plain_ok": plain.ok,
        "content_length": plain.headers["CONTENT-LENGTH"],
        "echo": echo.body.decode(),
        "missing_status": missing.status,
        "missing_ok": missing.ok,
    }]}
