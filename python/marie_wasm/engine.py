"""Engine and Component: Wasmtime, and components loaded once per engine.

An Engine wraps one mw_engine_t (create one per process and share it:
`Engine.default()`), and caches loaded components by the SHA-256 of their
bytes, so executing the same node again never recompiles it. Compiling a
component (seconds for an interpreter-sized one) runs in C without the GIL.

Lifetimes: a Component keeps its engine's handle alive, and the engine is
freed only after every component made from it, so a component in use by an
execution on another thread is never freed under it. Nothing is freed at
interpreter exit (the process is ending; worker threads may still be
finishing).
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from ._lib import check, encode, lib, out_ptr
from .errors import StorageIOError
from .storage import sha256_hex

#: Engine.default() reads its compilation cache directory from here, as the
#: marie-wasm command does.
CACHE_ENV = "MW_CACHE_DIR"

_CAPABILITIES = {1: "http", 2: "secrets", 4: "kv", 8: "console", 16: "events"}


class _EngineHandle:
    """Owns one mw_engine_t; freed when nothing refers to it any more."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        fin = weakref.finalize(self, lib().mw_engine_free, ptr)
        fin.atexit = False


@dataclass(frozen=True)
class CacheInfo:
    hits: int
    misses: int
    size: int


class Component:
    """A loaded component: immutable and thread-safe; execute it any number
    of times from any number of threads."""

    def __init__(self, ptr: int, engine: _EngineHandle, sha256: str) -> None:
        self._ptr = ptr
        self._engine = engine
        self.sha256 = sha256
        # The finalizer's arguments keep the engine alive until this
        # component is freed.
        fin = weakref.finalize(self, _free_component, ptr, engine)
        fin.atexit = False

    @property
    def handle(self) -> int:
        return self._ptr

    @property
    def engine_handle(self) -> int:
        """The mw_engine_t this component was made by (and must run on)."""
        return self._engine.ptr

    @property
    def capabilities(self) -> frozenset[str]:
        """The capability interfaces the component imports: the least
        permissions it could need ("http", "secrets", "kv", ...)."""
        bits = int(lib().mw_component_capabilities(self._ptr))
        return frozenset(name for bit, name in _CAPABILITIES.items() if bits & bit)

    def describe(self) -> dict[str, Any]:
        """The library's description: fits_world, problems, imports,
        exports, capabilities."""
        api = lib()
        out = out_ptr()
        check(api.mw_component_describe(self._ptr, ctypes.byref(out)))
        doc: dict[str, Any] = json.loads(api.take_string(out.value))
        return doc


def _free_component(ptr: int, engine: _EngineHandle) -> None:
    lib().mw_component_free(ptr)
    del engine


class Engine:
    """Wasmtime with marie:node's host interfaces and limits.

    cache_dir: a directory for compiled components (native code: use one
    only you write to); None: no disk cache. The other arguments tune the
    pooling allocator and limits (see engine.h); None keeps the library's
    default. max_components bounds the in-memory component cache (least
    recently used ones are dropped).
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        pooling: bool = True,
        pool_instances: int | None = None,
        max_memory_mb: int | None = None,
        tick_ms: int | None = None,
        max_components: int = 256,
    ) -> None:
        api = lib()
        cfg = api.mw_engine_config_new()
        if not cfg:
            raise MemoryError("libmariewasm: out of memory")
        out = out_ptr()
        try:
            if cache_dir is not None:
                check(api.mw_engine_config_cache_dir(cfg, encode(os.fspath(cache_dir))))
            api.mw_engine_config_pooling(cfg, pooling)
            if pool_instances is not None:
                api.mw_engine_config_pool_instances(cfg, pool_instances)
            if max_memory_mb is not None:
                api.mw_engine_config_max_memory_mb(cfg, max_memory_mb)
            if tick_ms is not None:
                api.mw_engine_config_tick_ms(cfg, tick_ms)
            check(api.mw_engine_new(cfg, ctypes.byref(out)))
        finally:
            api.mw_engine_config_free(cfg)
        assert out.value is not None
        self._engine: _EngineHandle | None = _EngineHandle(out.value)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Component] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._file_sha: dict[tuple[int, int, int, int], str] = {}
        self._max_components = max_components
        self._hits = 0
        self._misses = 0

    # ---- the process-wide default ------------------------------------------

    _default: Engine | None = None
    _default_lock = threading.Lock()

    @classmethod
    def default(cls) -> Engine:
        """One shared engine for the process (cache dir from $MW_CACHE_DIR)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls(cache_dir=os.environ.get(CACHE_ENV) or None)
            return cls._default

    # ---- handles ------------------------------------------------------------

    @property
    def handle(self) -> int:
        if self._engine is None:
            raise ValueError("the engine is closed")
        return self._engine.ptr

    def close(self) -> None:
        """Drops the engine and its cached components; the C objects are
        freed once no execution uses them any more."""
        with self._lock:
            self._engine = None
            self._cache.clear()

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache))

    # ---- loading ------------------------------------------------------------

    def cached(self, sha256: str) -> Component | None:
        """The cached component with this SHA-256, if any."""
        with self._lock:
            comp = self._cache.get(sha256)
            if comp is not None:
                self._cache.move_to_end(sha256)
                self._hits += 1
            return comp

    def load(self, source: bytes | str | os.PathLike[str]) -> Component:
        """A component from .wasm bytes or a .wasm/.cwasm file, loaded once
        per engine (cached by SHA-256 of the bytes). Raises ComponentError
        for bytes that are not a marie:node component, StorageIOError for an
        unreadable file, ArtifactError for an incompatible .cwasm."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            sha = sha256_hex(data)
            return self._cached(sha, lambda: self._new_from_bytes(data, sha))
        return self._load_file(os.fspath(source))

    def _load_file(self, path: str, st: os.stat_result | None = None) -> Component:
        """load() of a file; st: its os.stat() if the caller has it."""
        sha = self._sha_of_file(path, st)
        return self._cached(sha, lambda: self._new_from_file(path))

    @staticmethod
    def _file_ident(st: os.stat_result) -> tuple[int, int, int, int]:
        # The file itself (device, inode) and its version: the name it was
        # reached by does not matter.
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _peek_file(self, path: str, st: os.stat_result) -> Component | None:
        """The cached component of a file seen before and unchanged since,
        or None; no I/O beyond the caller's stat()."""
        ident = self._file_ident(st)
        with self._lock:
            sha = self._file_sha.get(ident)
            comp = self._cache.get(sha) if sha is not None else None
            if comp is not None:
                self._cache.move_to_end(comp.sha256)
                self._hits += 1
            return comp

    def _sha_of_file(self, path: str, st: os.stat_result | None = None) -> str:
        # Rehashing a 20 MB interpreter component on every execute would cost
        # more than the execution: remember the hash while the file's
        # identity and modification time stay the same. A known file costs
        # one stat() per execution (system calls are slow on some VMs:
        # docs/PERFORMANCE.md).
        try:
            if st is None:
                st = os.stat(path)
            ident = self._file_ident(st)
            with self._lock:
                known = self._file_sha.get(ident)
            if known is not None:
                return known
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise StorageIOError(f"{path}: {e.strerror}", 3, "MW_ERR_IO") from e
        sha = sha256_hex(data)
        with self._lock:
            self._file_sha[ident] = sha
        return sha

    def _cached(self, sha: str, make: Callable[[], Component]) -> Component:
        with self._lock:
            hit = self._cache.get(sha)
            if hit is not None:
                self._cache.move_to_end(sha)
                self._hits += 1
                return hit
            gate = self._loading.setdefault(sha, threading.Lock())
        # One thread compiles a given component; others wait for it.
        with gate:
            with self._lock:
                hit = self._cache.get(sha)
                if hit is not None:
                    self._hits += 1
                    return hit
            try:
                comp = make()
            finally:
                with self._lock:
                    self._loading.pop(sha, None)
            with self._lock:
                self._misses += 1
                if self._engine is not None:
                    self._cache[sha] = comp
                    while len(self._cache) > self._max_components:
                        self._cache.popitem(last=False)
            return comp

    def _engine_handle(self) -> _EngineHandle:
        engine = self._engine
        if engine is None:
            raise ValueError("the engine is closed")
        return engine

    def _new_from_bytes(self, data: bytes, sha: str) -> Component:
        engine = self._engine_handle()
        out = out_ptr()
        check(lib().mw_component_new(engine.ptr, data, len(data), ctypes.byref(out)))
        assert out.value is not None
        return Component(out.value, engine, sha)

    def _new_from_file(self, path: str) -> Component:
        engine = self._engine_handle()
        out = out_ptr()
        check(lib().mw_component_load_file(engine.ptr, encode(path), ctypes.byref(out)))
        assert out.value is not None
        sha = bytes(lib().mw_component_sha256(out.value)).decode("ascii")
        return Component(out.value, engine, sha or self._sha_of_file(path))
