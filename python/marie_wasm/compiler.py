"""WasmCompilerService: user code -> component -> artifact store.

compile() runs mw_compile (the language's toolchain in the bubblewrap
sandbox, results cached by content) on a worker thread without the GIL,
then stores the component under wasm/nodes/<node_id>/<sha256[:24]>.wasm
with mw_store_put and returns that key. Diagnostics, caching and the key
layout are the library's; this module only moves values across.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

from ._lib import check, encode, lib, out_ptr, take_error
from .errors import CompilationError
from .language import Language
from .storage import ArtifactStore, StoreLocation

_NO_SHA = "0" * 64


@dataclass(frozen=True)
class CompileResult:
    """What compile_detailed() returns; compile() returns only `key`."""

    key: str
    sha256: str
    size: int
    cached: bool  # from the compile cache: no toolchain ran
    duration_ms: int
    warnings: str


class WasmCompilerService:
    """Compiles nodes and stores them.

    storage_client: where components are stored: a directory, a store
    location ("file:///dir", "s3://bucket/prefix"), an ArtifactStore, or
    None for the default local store ($MARIE_WASM_STORE or
    ~/.cache/marie-wasm/artifacts). cache_dir: the compile cache (None:
    the library's default, $MW_COMPILE_CACHE_DIR or its default root).
    toolchains_dir / guest_dir override where toolchains and the language
    wrappers are found (None: the library's defaults).
    """

    def __init__(
        self,
        storage_client: StoreLocation = None,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        toolchains_dir: str | os.PathLike[str] | None = None,
        guest_dir: str | os.PathLike[str] | None = None,
        max_workers: int = 2,
    ) -> None:
        self.store = ArtifactStore.open(storage_client)
        self._cache_dir = cache_dir
        self._toolchains_dir = toolchains_dir
        self._guest_dir = guest_dir
        self._lock = threading.Lock()
        self._compilers: dict[int, int] = {}  # timeout ms -> mw_compiler_t
        self._finalizer = weakref.finalize(self, _free_compilers, self._compilers)
        self._finalizer.atexit = False
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="marie-wasm-compile")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._finalizer()

    async def __aenter__(self) -> WasmCompilerService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    async def compile(
        self,
        code: str,
        language: Language | str,
        node_id: str,
        dependencies: Sequence[str] | None = None,
        timeout_seconds: int = 120,
    ) -> str:
        """Compiles code and stores the component; returns its storage key
        "wasm/nodes/{node_id}/{sha256[:24]}.wasm".

        Raises CompilationError(message, stderr): for mistakes in the code
        stderr holds "<file>:<line>:<col>: <text>" lines on the user's own
        lines; also for a timeout, a missing toolchain or a sandbox failure
        (status_name says which). InputError for a bad node_id.
        """
        result = await self.compile_detailed(
            code, language, node_id, dependencies, timeout_seconds
        )
        return result.key

    async def compile_detailed(
        self,
        code: str,
        language: Language | str,
        node_id: str,
        dependencies: Sequence[str] | None = None,
        timeout_seconds: int = 120,
    ) -> CompileResult:
        """compile() with everything the library reports about it."""
        call = functools.partial(
            self.compile_sync, code, language, node_id, dependencies, timeout_seconds
        )
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def compile_sync(
        self,
        code: str,
        language: Language | str,
        node_id: str,
        dependencies: Sequence[str] | None = None,
        timeout_seconds: int = 120,
    ) -> CompileResult:
        """compile_detailed() on the calling thread."""
        lang = Language.from_string(language)
        if dependencies:
            # The sandbox has no network and the toolchains are read-only:
            # there is nowhere to fetch packages from.
            raise CompilationError(
                "dependencies are not supported: the compile sandbox has no "
                "network; vendor the code into the node instead",
                ", ".join(dependencies),
                status=4,
                status_name="MW_ERR_INPUT",
            )
        ArtifactStore.node_key(node_id, _NO_SHA)  # a bad node_id fails before the slow part
        api = lib()
        compiler = self._compiler(max(1000, int(timeout_seconds * 1000)))
        src = code.encode("utf-8")
        res = out_ptr()
        failure = take_error(
            api.mw_compile(compiler, lang.c_value, src, len(src), None, None, None, ctypes.byref(res))
        )
        if failure is not None:
            status, name, message = failure
            raise CompilationError(_summary(lang, name, message), message, status, name)
        try:
            size = ctypes.c_size_t()
            wasm = api.mw_compile_result_wasm(res, ctypes.byref(size))
            sha = bytes(api.mw_compile_result_sha256(res)).decode("ascii")
            key = ArtifactStore.node_key(node_id, sha, ".wasm")
            self.store.put_buffer(key, wasm, size.value)
            return CompileResult(
                key=key,
                sha256=sha,
                size=size.value,
                cached=bool(api.mw_compile_result_cached(res)),
                duration_ms=int(api.mw_compile_result_ms(res)),
                warnings=bytes(api.mw_compile_result_warnings(res)).decode("utf-8", "replace"),
            )
        finally:
            api.mw_compile_result_free(res)

    def _compiler(self, timeout_ms: int) -> int:
        # The timeout is a compiler setting: one compiler per timeout used
        # (a compiler is thread-safe and cheap to keep).
        with self._lock:
            existing = self._compilers.get(timeout_ms)
            if existing is not None:
                return existing
            api = lib()
            cfg = api.mw_compiler_config_new()
            if not cfg:
                raise MemoryError("libmariewasm: out of memory")
            out = out_ptr()
            try:
                if self._cache_dir is not None:
                    check(api.mw_compiler_config_cache_dir(cfg, encode(os.fspath(self._cache_dir))))
                if self._toolchains_dir is not None:
                    check(
                        api.mw_compiler_config_toolchains_dir(
                            cfg, encode(os.fspath(self._toolchains_dir))
                        )
                    )
                if self._guest_dir is not None:
                    check(api.mw_compiler_config_guest_dir(cfg, encode(os.fspath(self._guest_dir))))
                api.mw_compiler_config_timeout_ms(cfg, timeout_ms)
                check(api.mw_compiler_new(cfg, ctypes.byref(out)))
            finally:
                api.mw_compiler_config_free(cfg)
            assert out.value is not None
            self._compilers[timeout_ms] = out.value
            return out.value


def _summary(lang: Language, status_name: str, message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else status_name
    if status_name == "MW_ERR_COMPILE":
        return f"{lang.full_name} compilation failed: {first}"
    return f"{lang.full_name} compilation failed ({status_name}): {first}"


def _free_compilers(compilers: dict[int, int]) -> None:
    api = lib()
    for ptr in compilers.values():
        api.mw_compiler_free(ptr)
    compilers.clear()
