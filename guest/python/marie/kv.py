"""Key-value store of the node, under the permission's kv_prefix.

    kv.put("last-run", "2024-01-01", ttl=3600)   # str is stored as UTF-8
    kv.get("last-run")       -> b"2024-01-01", or None when absent or denied
    kv.delete("last-run")

put and delete raise KvError when the host refuses (no allow_kv, quota,
size limits) or the backend fails.
"""
from componentize_py_types import Err
from wit_world.imports import kv as _kv

from marie.errors import KvError, require_host

_U32_MAX = 2**32 - 1


def _key(key):
    if not isinstance(key, str):
        raise TypeError(f"kv key must be a str, not {type(key).__name__}")
    return key


def get(key):
    require_host("marie.kv.get")
    return _kv.get(_key(key))


def put(key, value, ttl=None):
    require_host("marie.kv.put")
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
    else:
        raise TypeError(
            f"kv value must be str or bytes, not {type(value).__name__} "
            "(use json.dumps for structured values)")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise TypeError(f"ttl must be an int (seconds), not {type(ttl).__name__}")
        if not 0 <= ttl <= _U32_MAX:
            raise ValueError(f"ttl must be between 0 and {_U32_MAX} seconds, got {ttl}")
    try:
        _kv.put(_key(key), value, ttl)
    except Err as e:
        raise KvError(e.value) from None


def delete(key):
    require_host("marie.kv.delete")
    try:
        _kv.delete(_key(key))
    except Err as e:
        raise KvError(e.value) from None
