"""marie_wasm: run workflow code nodes as WebAssembly components.

A thin binding over libmariewasm (the C library in this repository): the
permissions, compiler, storage and execution all happen in C; this package
keeps the original Python API on top of it.

    from marie_wasm import WasmCompilerService, WasmExecutor, Language, Permissions

    compiler = WasmCompilerService(storage_client="/var/lib/marie/artifacts")
    key = await compiler.compile(code, Language.PYTHON, node_id="my-node-123")
    executor = WasmExecutor(storage="/var/lib/marie/artifacts")
    result = await executor.execute(key, items=[{"json": '{"a": 1}'}],
                                    permissions=Permissions(timeout_ms=2000))
"""

from __future__ import annotations

from ._lib import lib as _lib
from .compiler import CompileResult, WasmCompilerService
from .engine import CacheInfo, Component, Engine
from .errors import (
    ArtifactError,
    BackendError,
    CompilationError,
    ComponentError,
    DeniedError,
    EngineError,
    InputError,
    LibraryError,
    LibraryNotFoundError,
    LimitError,
    MarieWasmError,
    MisuseError,
    OutOfMemoryError,
    StorageIOError,
    WasmFuelExhaustedError,
    WasmGuestTrap,
    WasmMemoryLimitError,
    WasmOutputLimitError,
    WasmStackOverflowError,
    WasmTimeoutError,
    WasmTrap,
)
from .executor import WasmExecutor
from .language import Language
from .permissions import Permissions
from .result import (
    Event,
    ExecutionResult,
    ExecutionStats,
    LogRecord,
    OutputItem,
    TrapInfo,
    WasmInputDoc,
)
from .storage import ArtifactStore

__version__ = "0.1.0"


def library_path() -> str:
    """The path of the libmariewasm that was loaded (loads it if needed)."""
    return _lib().path


def library_version() -> str:
    """libmariewasm's version, e.g. "0.1.0"."""
    return bytes(_lib().mw_version()).decode("ascii")


def wasmtime_version() -> str:
    """The Wasmtime version libmariewasm was built with."""
    return bytes(_lib().mw_wasmtime_version()).decode("ascii")


__all__ = [
    "ArtifactError",
    "ArtifactStore",
    "BackendError",
    "CacheInfo",
    "CompilationError",
    "CompileResult",
    "Component",
    "ComponentError",
    "DeniedError",
    "Engine",
    "EngineError",
    "Event",
    "ExecutionResult",
    "ExecutionStats",
    "InputError",
    "Language",
    "LibraryError",
    "LibraryNotFoundError",
    "LimitError",
    "LogRecord",
    "MarieWasmError",
    "MisuseError",
    "OutOfMemoryError",
    "OutputItem",
    "Permissions",
    "StorageIOError",
    "TrapInfo",
    "WasmCompilerService",
    "WasmExecutor",
    "WasmFuelExhaustedError",
    "WasmGuestTrap",
    "WasmInputDoc",
    "WasmMemoryLimitError",
    "WasmOutputLimitError",
    "WasmStackOverflowError",
    "WasmTimeoutError",
    "WasmTrap",
    "library_path",
    "library_version",
    "wasmtime_version",
]
