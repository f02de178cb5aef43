# Standard-library modules imported inside execute must work at run time
# (the wrapper loads them at compile time).
import random


def execute(input_items, config, context):
    import base64
    import datetime
    import decimal
    import hashlib
    import re
    import statistics
    import uuid
    from collections import Counter
    from urllib.parse import urlencode, urlparse

    when = datetime.datetime.strptime("2024-03-05 10:20", "%Y-%m-%d %H:%M")
    return {"ok": [{
        "re": re.findall(r"\d+", "a1b22c333"),
        "strptime": when.isoformat(),
        "decimal": str(decimal.Decimal("1.10") + decimal.Decimal("2.20")),
        "sha256": hashlib.sha256(b"abc").hexdigest()[:16],
        "b64": base64.b64encode(b"hi").decode(),
        "mean": statistics.mean([1, 2, 3, 4]),
        "counter": Counter("abca").most_common(1)[0][0],
        "url": urlparse("https://x.example.com/p?q=1").netloc,
        "query": urlencode({"a": 1, "b": "c d"}),
        "idna": "bücher.example".encode("idna").decode(),
        "utf16_len": len("hé".encode("utf-16")),
        "uuid_len": len(str(uuid.uuid4())),
        "random": random.random(),
        "year": datetime.datetime.now().year > 2000,
    }]}
