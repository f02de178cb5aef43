"""ArtifactStore: where compiled components live, over mw_store_*.

A store maps keys ("wasm/nodes/<node_id>/<sha256[:24]>.wasm") to bytes in a
local directory or an S3 bucket; key syntax, atomic writes and integrity
checks are the library's. Thread-safe, like the mw_store_t it wraps.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from pathlib import Path
from typing import Union

from ._lib import check, encode, lib, out_ptr

#: Where stores default to when no location is given: $MARIE_WASM_STORE,
#: else ~/.cache/marie-wasm/artifacts.
STORE_ENV = "MARIE_WASM_STORE"

StoreLocation = Union[str, "os.PathLike[str]", "ArtifactStore", None]


def default_location() -> str:
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    return str(Path.home() / ".cache" / "marie-wasm" / "artifacts")


class ArtifactStore:
    """An open artifact store. `location` is a directory ("/abs/dir",
    "rel/dir", "file:///abs/dir") or "s3://bucket[/prefix]" (configured
    from the AWS_* environment, see storage.h); None opens the default
    local directory."""

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        loc = os.fspath(location) if location is not None else default_location()
        api = lib()
        out = out_ptr()
        check(api.mw_store_open(encode(loc), ctypes.byref(out)))
        self.location = loc
        self._handle: int | None = out.value
        self._finalizer = weakref.finalize(self, api.mw_store_free, out.value)

    @classmethod
    def open(cls, location: StoreLocation) -> ArtifactStore:
        """An existing store as is, else a new one at the location."""
        if isinstance(location, ArtifactStore):
            return location
        return cls(location)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.location!r})"

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("the store is closed")
        return self._handle

    def close(self) -> None:
        self._handle = None
        self._finalizer()

    @staticmethod
    def node_key(node_id: str, sha256_hex: str, ext: str = ".wasm") -> str:
        """The key of a node's artifact: wasm/nodes/<node_id>/<sha256[:24]><ext>.
        Raises InputError for a node_id the layout does not allow."""
        api = lib()
        out = out_ptr()
        check(
            api.mw_store_node_key(
                encode(node_id), encode(sha256_hex), encode(ext), ctypes.byref(out)
            )
        )
        return api.take_string(out.value)

    def put(self, key: str, data: bytes) -> None:
        """Stores data under key, atomically and durably."""
        check(lib().mw_store_put(self.handle, encode(key), data, len(data)))

    def put_buffer(self, key: str, ptr: int, size: int) -> None:
        """put() for bytes already in C memory (no copy into Python)."""
        check(lib().mw_store_put(self.handle, encode(key), ptr, size))

    def get(self, key: str, expect_sha256: str | None = None) -> bytes:
        """The bytes under key. With expect_sha256 they must hash to it, else
        ArtifactError. A missing key raises StorageIOError ("not found")."""
        api = lib()
        out = out_ptr()
        size = ctypes.c_size_t()
        check(
            api.mw_store_get(
                self.handle,
                encode(key),
                encode(expect_sha256) if expect_sha256 else None,
                ctypes.byref(out),
                ctypes.byref(size),
            )
        )
        try:
            return ctypes.string_at(out.value, size.value) if out.value else b""
        finally:
            api.free(out.value)



def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of data, computed by the library."""
    buf = ctypes.create_string_buffer(65)
    lib().mw_sha256_hex(data, len(data), buf)
    return buf.value.decode("ascii")
