"""Host capabilities for a marie-wasm Python node.

    from marie import http, secrets, kv, log, events

Each name is also injected into the node's module, so short nodes may use
them without importing. Every call goes to the host, which checks the
node's permissions first: a denied secret reads as None, a denied HTTP or
KV call raises HttpError / KvError with the host's message.

The capabilities work only while `execute` runs; calling one while the
module is being imported (at compile time) raises RuntimeError.
"""
from marie.errors import HostError, HttpError, KvError
from marie import events, http, kv, log, secrets

__all__ = ["http", "secrets", "kv", "log", "events",
           "HostError", "HttpError", "KvError"]
