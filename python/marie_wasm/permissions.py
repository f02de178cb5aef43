"""Permissions: what one execution may do, in the original API's shape.

The dataclass only carries values; the C library parses and checks them
(mw_permissions_from_json) every time they are used, so a bad value fails
with the library's message naming the field, and matching (host
allow-lists, secret names, KV prefixes) happens in C exactly as for every
other caller. Deny by default: nothing is granted unless its allow_* flag
is set, and an empty allow-list grants nothing.
"""

from __future__ import annotations

import ctypes
import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ._lib import check, lib, out_ptr


@dataclass
class Permissions:
    """Capabilities and limits of one execution.

    The first nine fields are the original API's. The caps after them are
    extensions; None keeps the library's default.
    """

    allow_http: bool = False
    http_allowed_hosts: list[str] = field(default_factory=list)
    allow_secrets: bool = False
    secret_allowed_names: list[str] = field(default_factory=list)
    allow_kv: bool = False
    kv_prefix: str = ""
    max_memory_mb: int = 64
    max_fuel: int = 1_000_000_000
    timeout_ms: int = 30_000
    max_output_items: int | None = None
    max_output_bytes: int | None = None
    max_log_bytes: int | None = None
    max_events: int | None = None
    max_http_requests: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as the library's permissions JSON object (fields left
        None are omitted so the library's defaults apply)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = list(value) if isinstance(value, (list, tuple)) else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Permissions:
        """Builds permissions from a JSON-like mapping (e.g. a stored node
        config), checked by the library first: an unknown field or a wrong
        type raises InputError naming it."""
        text = json.dumps(dict(doc))
        handle = parse_json(text)
        lib().mw_permissions_free(handle)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})

    def resolved(self) -> dict[str, Any]:
        """The permissions as the library holds them after parsing: every
        field, defaults filled in. Raises InputError for a bad value."""
        api = lib()
        handle = parse_json(self.to_json())
        try:
            doc: dict[str, Any] = json.loads(api.take_string(api.mw_permissions_to_json(handle)))
        finally:
            api.mw_permissions_free(handle)
        return doc


def parse_json(text: str) -> int:
    """An owned mw_permissions_t parsed from JSON text (free it with
    mw_permissions_free). Raises InputError naming a bad field."""
    data = text.encode("utf-8")
    out = out_ptr()
    check(lib().mw_permissions_from_json(data, len(data), ctypes.byref(out)))
    assert out.value is not None
    return out.value


def _text(perms: Permissions | Mapping[str, Any] | None) -> str:
    if perms is None:
        return "{}"
    if isinstance(perms, Permissions):
        return perms.to_json()
    return json.dumps(dict(perms))


class Handle:
    """One parsed mw_permissions_t, shared read-only by any number of
    executions; freed when the last of them (or the cache) lets go."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        fin = weakref.finalize(self, lib().mw_permissions_free, ptr)
        fin.atexit = False


# Parsed permissions by their JSON text: executions with the same
# permissions (the common case: a node runs many times) parse them once.
_CACHE_MAX = 64
_cache: OrderedDict[str, Handle] = OrderedDict()
_cache_lock = threading.Lock()


def shared_handle(perms: Permissions | Mapping[str, Any] | None) -> Handle:
    """The parsed permissions for an execution (deny-all for None); keep
    the Handle referenced until the execution has ended. Raises InputError
    naming a bad field."""
    text = _text(perms)
    with _cache_lock:
        hit = _cache.get(text)
        if hit is not None:
            _cache.move_to_end(text)
            return hit
    handle = Handle(parse_json(text))
    with _cache_lock:
        _cache[text] = handle
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)
    return handle
