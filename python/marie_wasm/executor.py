"""WasmExecutor: runs a node's component, from asyncio or a plain thread.

One execution (`execute_sync`): find the component (a file, bytes, or a
key in the artifact store; loaded once per engine), take the parsed
permissions (shared by executions with the same ones), build an
mw_request_t -- all items in one packed buffer, the credentials as the
request's own secrets -- run mw_execute in C without the GIL, and read the
result in one buffer (mw_result_pack), raising a WasmTrap subclass for a
trap. Few foreign calls per execution: each costs about a microsecond.

`execute` (async) builds the same request on the event loop's thread and
hands it to the library's runner (runner.h): C threads that execute
without ever taking the GIL, and an eventfd the loop watches. One wake-up
of the loop delivers every execution that finished meanwhile. Only a
component not loaded yet is loaded on a Python thread pool, because
compiling it can take seconds.

The executor owns one mw_host_t shared by its executions: outgoing HTTP
through libcurl and one key-value backend (kv_url). Secrets come with each
request, so concurrent executions with different credentials share the
host; the permissions check happens in C before a request's secret is
ever read.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import json
import os
import stat
import struct
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping, Union

from ._lib import (
    PACKED_NONE,
    RUNNER_PACK,
    Completion,
    HttpOptions,
    check,
    encode,
    lib,
    out_ptr,
    take_error,
)
from .engine import Component, Engine
from .errors import StorageIOError, error_class, trap_class
from .permissions import Handle, Permissions, shared_handle
from .result import ExecutionResult, WasmInputDoc
from .storage import ArtifactStore, StoreLocation, sha256_hex

WasmSource = Union[str, "os.PathLike[str]", bytes, Component]
Item = Union[WasmInputDoc, Mapping[str, Any], str]

_PAIR = struct.Struct("<II").pack
# Bytes above which hashing a component given as bytes is left to the pool.
_HASH_ON_LOOP_MAX = 1 << 20
# Completions taken per mw_runner_take.
_TAKE_MAX = 64

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


def _pack_items(items: Iterable[Item]) -> bytes:
    """The items in mw_request_set_items_packed's layout (execute.h)."""
    parts: list[bytes] = []
    for item in items:
        # The common shapes first, without _item's checks (a fraction of a
        # microsecond each, per item).
        if type(item) is dict and len(item) == 1 and type(item.get("json")) is str:
            text, binary = item["json"].encode("utf-8"), None
        elif type(item) is str:
            text, binary = item.encode("utf-8"), None
        else:
            text, binary = _item(item)
        if len(text) >= PACKED_NONE:
            raise ValueError("input item json larger than 4 GiB")
        if binary is None:
            parts += (_PAIR(len(text), PACKED_NONE), text)
        else:
            if len(binary) >= PACKED_NONE:
                raise ValueError("input item binary larger than 4 GiB")
            parts += (_PAIR(len(text), len(binary)), text, binary)
    return b"".join(parts)


_CONTEXT_KEYS = frozenset(("workflow_id", "execution_id", "node_id", "run_index"))


def _set_context(req: Any, context: Mapping[str, Any]) -> None:
    """The context through mw_request_set_context when it is the usual
    dict of three strings and an index; anything else as JSON, which the
    library checks and names the bad field of."""
    api = lib()
    if (
        type(context) is dict
        and context.keys() == _CONTEXT_KEYS
        and type(context["run_index"]) is int
        and 0 <= context["run_index"] <= 0xFFFFFFFF
    ):
        ids = (context["workflow_id"], context["execution_id"], context["node_id"])
        if all(type(v) is str and "\0" not in v for v in ids):
            check(
                api.mw_request_set_context(
                    req, *(v.encode("utf-8") for v in ids), context["run_index"]
                )
            )
            return
    ctx = _text(context)
    check(api.mw_request_set_context_json(req, ctx, len(ctx)))


def _free_native(runner: int, host: int) -> None:
    api = lib()
    api.mw_runner_free(runner)
    api.mw_host_free(host)


def _text(value: str | Mapping[str, Any] | Any) -> bytes:
    """Text as given; anything else as JSON (any Mapping as an object)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)
    return json.dumps(value).encode("utf-8")


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
        self._workers = max_workers or max(4, os.cpu_count() or 1)
        host = api.mw_host_new()
        if not host:
            raise MemoryError("libmariewasm: out of memory")
        # The async path's runner: C threads executing submitted requests.
        runner = out_ptr()
        err = api.mw_runner_new(self._workers, RUNNER_PACK, ctypes.byref(runner))
        if err:
            api.mw_host_free(host)
            check(err)
        assert runner.value is not None
        self._host: int | None = host
        self._runner: int = runner.value
        # One finalizer frees both, runner first: its executions borrow
        # the host.
        self._native = weakref.finalize(self, _free_native, runner.value, host)
        self._native.atexit = False
        check(api.mw_host_use_kv_url(host, encode(kv_url), None))
        opts = HttpOptions()
        api.mw_http_options_init(ctypes.byref(opts))
        opts.allow_private_network = allow_private_network
        check(api.mw_host_use_curl_http(host, ctypes.byref(opts)))
        self._loader: ThreadPoolExecutor | None = None  # made on first need
        # Submitted executions: their futures by tag, with what they borrow
        # (component, permissions); and the loops watching the runner.
        self._fd = int(api.mw_runner_fd(runner.value))
        self._tags = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[ExecutionResult], Component, Handle, bool]] = {}
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._take_lock = threading.Lock()
        self._taken = (Completion * _TAKE_MAX)()
        self._closed = False

    # ---- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        """Waits for running executions (delivering their results), then
        frees the runner and the host."""
        if self._closed:
            return
        self._closed = True
        api = lib()
        api.mw_runner_shutdown(self._runner)  # blocks without the GIL
        self._deliver()
        foreign = self._unwatch()
        if self._loader is not None:
            self._loader.shutdown(wait=True)
        self._host = None
        if not foreign:
            self._native()
        # else: a loop on another thread watches the descriptor until its
        # remove_reader runs; the finalizer frees runner and host once that
        # loop lets go of this executor.
        if self._store is not None and self._storage_location is not self._store:
            self._store.close()

    def __enter__(self) -> WasmExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WasmExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Wait for running executions off the loop, then close on it.
        if not self._closed:
            await asyncio.get_running_loop().run_in_executor(
                None, lib().mw_runner_shutdown, self._runner
            )
        self.close()

    # ---- components -----------------------------------------------------------

    def load(self, wasm_path_or_key: WasmSource) -> Component:
        """The component for a file path, .wasm bytes, or a store key,
        loaded once per engine."""
        src = wasm_path_or_key
        known = self._load_nowait(src)  # seen before: no reading or compiling
        if known is not None:
            return known
        assert not isinstance(src, Component)  # _load_nowait returned it
        if isinstance(src, (bytes, bytearray, memoryview)):
            return self.engine.load(bytes(src))
        path = os.fspath(src)
        try:
            st: os.stat_result | None = os.stat(path)
        except (OSError, ValueError):
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            return self.engine._load_file(path, st)
        if not isinstance(src, str) or os.path.isabs(path) or path.startswith("."):
            # Clearly meant as a file (store keys are relative, no dots).
            raise StorageIOError(f"{path}: no such file", 3, "MW_ERR_IO")
        # A store key not loaded yet. Keys are content-addressed (they carry
        # the hash), so _load_nowait finds it from now on.
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

    def _load_nowait(self, src: WasmSource) -> Component | None:
        """load() when it needs no reading or compiling (a component seen
        before), else None: what the event loop's thread may do itself."""
        if isinstance(src, Component):
            return src
        if isinstance(src, (bytes, bytearray, memoryview)):
            if len(src) > _HASH_ON_LOOP_MAX:
                return None
            return self.engine.cached(sha256_hex(bytes(src)))
        path = os.fspath(src)
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            if isinstance(src, str):
                with self._lock:
                    sha = self._key_sha.get(path)
                if sha is not None:
                    return self.engine.cached(sha)
            return None
        return self.engine._peek_file(path, st) if stat.S_ISREG(st.st_mode) else None

    def _request(
        self,
        items: Iterable[Item] | None,
        config: str | Mapping[str, Any] | None,
        context: Mapping[str, Any] | None,
        perms: Handle,
        credentials: Mapping[str, str] | None,
    ) -> int:
        """An owned mw_request_t with everything but the component."""
        api = lib()
        host = self._host
        if host is None:
            raise ValueError("the executor is closed")
        req = out_ptr()
        check(api.mw_request_new(ctypes.byref(req)))
        try:
            if items:
                packed = _pack_items(items)
                check(api.mw_request_set_items_packed(req, packed, len(packed)))
            if config is not None:
                env = _text(config)
                check(api.mw_request_set_env(req, env, len(env)))
            if context is not None:
                _set_context(req, context)
            if credentials:
                for name, value in credentials.items():
                    if not isinstance(name, str) or not isinstance(value, str):
                        raise TypeError(
                            f"credentials: {name!r} must map a str name to a str value"
                        )
                    check(api.mw_request_add_secret(req, encode(name), encode(value)))
            api.mw_request_set_permissions(req, perms.ptr)
            api.mw_request_set_host(req, host)
        except BaseException:
            api.mw_request_free(req)
            raise
        assert req.value is not None
        return req.value

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
        """Runs the component's `execute` export once on the runner's threads.

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
        if self._closed:
            raise ValueError("the executor is closed")
        loop = asyncio.get_running_loop()
        comp = self._load_nowait(wasm_path_or_key)
        if comp is None:
            if self._loader is None:
                with self._lock:
                    if self._loader is None:
                        self._loader = ThreadPoolExecutor(2, thread_name_prefix="marie-wasm-load")
            comp = await loop.run_in_executor(self._loader, self.load, wasm_path_or_key)
            if self._closed:
                raise ValueError("the executor is closed")
        perms = shared_handle(permissions)
        req = self._request(items, config, context, perms, credentials)
        fut: asyncio.Future[ExecutionResult] = loop.create_future()
        tag = next(self._tags)
        self._pending[tag] = (fut, comp, perms, raise_on_trap)
        if loop not in self._loops:
            loop.add_reader(self._fd, self._deliver)
            self._loops.add(loop)
        err = lib().mw_runner_submit(self._runner, comp.engine_handle, comp.handle, req, tag)
        if err:
            del self._pending[tag]
            lib().mw_request_free(req)
            check(err)
        return await fut

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
        comp = self.load(wasm_path_or_key)
        perms = shared_handle(permissions)  # referenced until the end
        req = self._request(items, config, context, perms, credentials)
        res = out_ptr()
        try:
            check(api.mw_execute(comp.engine_handle, comp.handle, req, ctypes.byref(res)))
            result = ExecutionResult.from_handle(res)
        finally:
            api.mw_result_free(res)
            api.mw_request_free(req)
        if result.trap is not None and raise_on_trap:
            raise trap_class(result.trap.kind)(result.trap.message, result, result.trap.kind)
        return result

    # ---- completions of the async path ---------------------------------------

    def _deliver(self) -> None:
        """Takes finished executions from the runner and settles their
        futures: directly when on their loop's thread, else through
        call_soon_threadsafe. Called by the loops' readers and by close()."""
        api = lib()
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        with self._take_lock:
            taken = self._taken
            while True:
                n = int(api.mw_runner_take(self._runner, taken, _TAKE_MAX))
                for i in range(n):
                    c = taken[i]
                    entry = self._pending.pop(int(c.tag), None)
                    value: ExecutionResult | None = None
                    exc: BaseException | None = None
                    if c.error:
                        status, name, message = take_error(c.error) or (0, "", "")
                        exc = error_class(name)(message, status, name)
                    else:  # packed by the runner's thread (RUNNER_PACK)
                        try:
                            value = ExecutionResult.from_packed(
                                ctypes.string_at(c.packed, c.packed_len)
                            )
                        finally:
                            api.free(c.packed)
                    if entry is None:
                        continue
                    fut, _comp, _perms, raise_on_trap = entry
                    if value is not None and value.trap is not None and raise_on_trap:
                        trap = value.trap
                        exc = trap_class(trap.kind)(trap.message, value, trap.kind)
                    floop = fut.get_loop()
                    if floop is here:
                        _settle(fut, value, exc)
                    else:
                        try:
                            floop.call_soon_threadsafe(_settle, fut, value, exc)
                        except RuntimeError:
                            pass  # its loop is closed: nobody awaits it
                if n < _TAKE_MAX:
                    return

    def _unwatch(self) -> bool:
        """Stops the loops watching the runner; True when a loop on another
        thread still has to do so."""
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        foreign = False
        for loop in list(self._loops):
            if loop.is_closed():
                continue
            if loop is here or not loop.is_running():
                loop.remove_reader(self._fd)
            else:
                loop.call_soon_threadsafe(loop.remove_reader, self._fd)
                foreign = True
        self._loops.clear()
        return foreign


def _settle(
    fut: asyncio.Future[ExecutionResult], value: ExecutionResult | None, exc: BaseException | None
) -> None:
    if fut.done():  # cancelled: the execution ran to its end regardless
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        assert value is not None
        fut.set_result(value)
