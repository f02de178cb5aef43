"""WasmExecutor: runs a node's component on a thread pool.

One execution, top to bottom (`execute_sync`): find the component (a file,
bytes, or a key in the artifact store; loaded once per engine), parse the
permissions (C), build an mw_request_t with the items, config and context,
run mw_execute -- in C, without the GIL -- and turn the library's result
document into an ExecutionResult, raising a WasmTrap subclass for a trap.

The executor owns one mw_host_t shared by its executions: outgoing HTTP
through libcurl, one key-value backend (kv_url), and secrets from the
`credentials` of each call. Credentials reach the host through a small
callback that reads them from the executing thread (mw_execute calls host
functions on the thread that called it), so concurrent executions with
different credentials share one host and one KV store. The permissions
check happens in C before the callback is ever asked for a name.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import os
import stat
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping, Union

from ._lib import (
    SECRET_GET_FN,
    HttpOptions,
    SecretsVtable,
    check,
    encode,
    lib,
    out_ptr,
)
from .engine import Component, Engine
from .errors import StorageIOError, trap_class
from .permissions import Permissions, to_handle
from .result import ExecutionResult, WasmInputDoc
from .storage import ArtifactStore, StoreLocation

WasmSource = Union[str, "os.PathLike[str]", bytes, Component]
Item = Union[WasmInputDoc, Mapping[str, Any], str]

_MW_ERR_NOMEM = 2

# ---- secrets: credentials of the execution running on this thread --------

_current = threading.local()


def _secret_get(ctx: int | None, name: bytes | None, out_value: Any) -> int | None:
    out_value[0] = None
    creds: dict[bytes, bytes] | None = getattr(_current, "credentials", None)
    value = creds.get(name) if creds and name is not None else None
    if value is None:
        return None  # absent: the guest sees none
    api = lib()
    buf = api.malloc(len(value) + 1)  # the library frees it with free()
    if not buf:
        err: int | None = api.mw_error_new(_MW_ERR_NOMEM, b"out of memory")
        return err
    ctypes.memmove(buf, value, len(value))
    ctypes.memset(buf + len(value), 0, 1)
    out_value[0] = buf
    return None


# Kept for the life of the process: hosts hold this function pointer.
_SECRET_GET = SECRET_GET_FN(_secret_get)


def _credentials(creds: Mapping[str, str] | None) -> dict[bytes, bytes] | None:
    if not creds:
        return None
    out: dict[bytes, bytes] = {}
    for name, value in creds.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"credentials: {name!r} must map a str name to a str value")
        out[encode(name)] = encode(value)
    return out


def _item(item: Item) -> tuple[bytes, bytes | None]:
    """(json text, binary) of one input item."""
    if isinstance(item, str):
        return item.encode("utf-8"), None
    if isinstance(item, dict) or isinstance(item, Mapping):  # dict: no ABC check
        if "json" not in item:
            raise ValueError(f"input item without a 'json' field: {item!r}")
        text, binary = item["json"], item.get("binary")
    else:
        text, binary = getattr(item, "json"), getattr(item, "binary", None)
    if not isinstance(text, (str, bytes)):
        text = json.dumps(text)
    if isinstance(text, str):
        text = text.encode("utf-8")
    if binary is not None and not isinstance(binary, (bytes, bytearray, memoryview)):
        raise TypeError(f"input item binary must be bytes, not {type(binary).__name__}")
    return text, bytes(binary) if binary is not None else None


def _text(value: str | Mapping[str, Any] | Any) -> bytes:
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8")


class WasmExecutor:
    """Executes marie:node components.

    engine: the Engine (component cache) to use; default Engine.default().
    storage: where keys such as "wasm/nodes/<id>/<hash>.wasm" are read
    from: a directory, "s3://bucket/prefix", an ArtifactStore, or None for
    the default local store (the one WasmCompilerService writes to).
    kv_url: the key-value backend ("memory:", "sqlite:///abs/kv.db",
    "redis://host:port/db"), shared by all executions of this executor.
    allow_private_network: let HTTP reach loopback/private addresses (local
    testing only). max_workers: threads executing at once.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        storage: StoreLocation = None,
        *,
        kv_url: str = "memory:",
        allow_private_network: bool = False,
        max_workers: int | None = None,
    ) -> None:
        api = lib()
        self.engine = engine if engine is not None else Engine.default()
        self._storage_location = storage
        self._store: ArtifactStore | None = None
        self._key_sha: dict[str, str] = {}
        self._lock = threading.Lock()
        host = api.mw_host_new()
        if not host:
            raise MemoryError("libmariewasm: out of memory")
        self._host_finalizer = weakref.finalize(self, api.mw_host_free, host)
        self._host_finalizer.atexit = False
        self._host: int | None = host
        check(api.mw_host_use_kv_url(host, encode(kv_url), None))
        opts = HttpOptions()
        api.mw_http_options_init(ctypes.byref(opts))
        opts.allow_private_network = allow_private_network
        check(api.mw_host_use_curl_http(host, ctypes.byref(opts)))
        api.mw_host_set_secrets(host, ctypes.byref(SecretsVtable(_SECRET_GET)), None, None)
        workers = max_workers or max(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="marie-wasm")

    # ---- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        """Waits for running executions, then frees the host."""
        self._pool.shutdown(wait=True)
        self._host = None
        self._host_finalizer()
        if self._store is not None and self._storage_location is not self._store:
            self._store.close()

    def __enter__(self) -> WasmExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WasmExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    # ---- components -----------------------------------------------------------

    def load(self, wasm_path_or_key: WasmSource) -> Component:
        """The component for a file path, .wasm bytes, or a store key,
        loaded once per engine."""
        src = wasm_path_or_key
        if isinstance(src, Component):
            return src
        if isinstance(src, (bytes, bytearray, memoryview)):
            return self.engine.load(bytes(src))
        path = os.fspath(src)
        try:
            st: os.stat_result | None = os.stat(path)
        except (OSError, ValueError):
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            # One stat() for both questions (a file? changed?).
            return self.engine._load_file(path, st)
        if not isinstance(src, str) or os.path.isabs(path) or path.startswith("."):
            # Clearly meant as a file (store keys are relative, no dots).
            raise StorageIOError(f"{path}: no such file", 3, "MW_ERR_IO")
        # A store key. Keys are content-addressed (they carry the hash), so
        # a key seen before maps to a component already in the cache.
        with self._lock:
            sha = self._key_sha.get(path)
        if sha is not None:
            comp = self.engine.cached(sha)
            if comp is not None:
                return comp
        comp = self.engine.load(self.store().get(path))
        with self._lock:
            self._key_sha[path] = comp.sha256
        return comp

    def store(self) -> ArtifactStore:
        """The artifact store keys are read from (opened on first use)."""
        with self._lock:
            if self._store is None:
                self._store = ArtifactStore.open(self._storage_location)
            return self._store

    # ---- execution --------------------------------------------------------------

    async def execute(
        self,
        wasm_path_or_key: WasmSource,
        items: Iterable[Item] | None = None,
        config: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        permissions: Permissions | Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
        *,
        raise_on_trap: bool = True,
    ) -> ExecutionResult:
        """Runs the component's `execute` export once on the thread pool.

        items: input items (WasmInputDoc, {"json": ..., "binary": ...}, or
        JSON text); config: the node's configuration (text, or a mapping
        sent as JSON); context: workflow_id, execution_id, node_id,
        run_index (missing ones are generated); permissions: deny-all when
        None; credentials: secret name -> value, readable by the node only
        for names the permissions allow.

        Returns the result for ok and for the guest's err (result.error).
        A trap raises the WasmTrap subclass of its kind (WasmTimeoutError,
        ...), carrying the result; with raise_on_trap=False it is returned
        as result.trap instead. Cancelling the await does not stop the
        execution: it ends at its own timeout_ms at the latest.
        """
        call = functools.partial(
            self.execute_sync,
            wasm_path_or_key,
            items,
            config,
            context,
            permissions,
            credentials,
            raise_on_trap=raise_on_trap,
        )
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def execute_sync(
        self,
        wasm_path_or_key: WasmSource,
        items: Iterable[Item] | None = None,
        config: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        permissions: Permissions | Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
        *,
        raise_on_trap: bool = True,
    ) -> ExecutionResult:
        """execute() on the calling thread (which it blocks, GIL released)."""
        api = lib()
        host = self._host
        if host is None:
            raise ValueError("the executor is closed")
        comp = self.load(wasm_path_or_key)
        creds = _credentials(credentials)
        perms = to_handle(permissions)
        req, res = out_ptr(), out_ptr()
        try:
            check(api.mw_request_new(ctypes.byref(req)))
            add_item = api.mw_request_add_item
            for item in items or ():
                text, binary = _item(item)
                err = add_item(req, text, len(text), binary, len(binary) if binary else 0)
                if err:
                    check(err)
            if config is not None:
                env = _text(config)
                check(api.mw_request_set_env(req, env, len(env)))
            if context is not None:
                ctx = _text(context)
                check(api.mw_request_set_context_json(req, ctx, len(ctx)))
            api.mw_request_set_permissions(req, perms)
            api.mw_request_set_host(req, host)
            _current.credentials = creds
            try:
                check(api.mw_execute(comp.engine_handle, comp.handle, req, ctypes.byref(res)))
            finally:
                _current.credentials = None
            result = ExecutionResult.from_handle(res)
        finally:
            api.mw_result_free(res)
            api.mw_request_free(req)
            api.mw_permissions_free(perms)
        if result.trap is not None and raise_on_trap:
            raise trap_class(result.trap.kind)(result.trap.message, result, result.trap.kind)
        return result
