"""Exceptions: one class per libmariewasm status, one per trap kind.

Every failure the C library reports comes back as an mw_error_t with a
status (MW_ERR_INPUT, ...) and a message for humans; `raise_error` turns it
into the subclass of `MarieWasmError` for that status, keeping the status
name the library gives. Guest traps are not errors in the C API but an
outcome of an execution; the executor raises them as `WasmTrap` subclasses
(or returns them on the result, see `WasmExecutor.execute`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .result import ExecutionResult


class MarieWasmError(Exception):
    """Base of every exception this package raises."""


class LibraryNotFoundError(MarieWasmError, OSError):
    """libmariewasm could not be found or loaded."""


class LibraryError(MarieWasmError):
    """An error returned by libmariewasm: `status` is its mw_status_t value,
    `status_name` its name ("MW_ERR_INPUT"), and the message names the
    offending input."""

    status: int
    status_name: str

    def __init__(self, message: str, status: int = 0, status_name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.status_name = status_name


class MisuseError(LibraryError):
    """MW_ERR_MISUSE: invalid argument or API misuse."""


class OutOfMemoryError(LibraryError, MemoryError):
    """MW_ERR_NOMEM."""


class StorageIOError(LibraryError, OSError):
    """MW_ERR_IO: a file, store or other I/O failure (also "not found")."""


class InputError(LibraryError, ValueError):
    """MW_ERR_INPUT: an invalid document (permissions, items, context, ...)."""


class ComponentError(LibraryError):
    """MW_ERR_COMPONENT: not a component, or not a marie:node component."""


class ArtifactError(LibraryError):
    """MW_ERR_ARTIFACT: a precompiled artifact is incompatible or corrupt,
    or stored bytes do not match their expected SHA-256."""


class DeniedError(LibraryError, PermissionError):
    """MW_ERR_DENIED: refused by the permissions."""


class BackendError(LibraryError):
    """MW_ERR_BACKEND: a host backend, toolchain or sandbox failed."""


class EngineError(LibraryError):
    """MW_ERR_ENGINE: Wasmtime failed."""


class LimitError(LibraryError):
    """MW_ERR_LIMIT: a configured limit was exceeded (outside a guest)."""


class CompilationError(LibraryError):
    """Compiling user code failed. `stderr` holds the diagnostics; for the
    user's own mistakes (MW_ERR_COMPILE) one "<file>:<line>:<col>: <text>"
    per line, on the user's lines."""

    def __init__(
        self,
        message: str,
        stderr: str = "",
        status: int = 11,
        status_name: str = "MW_ERR_COMPILE",
    ) -> None:
        super().__init__(message, status, status_name)
        self.stderr = stderr

    def __str__(self) -> str:
        if self.stderr and self.stderr not in self.message:
            return f"{self.message}\n{self.stderr}"
        return self.message


# Keyed by the names the library gives (mw_status_name), which are stable.
_BY_STATUS: dict[str, type[LibraryError]] = {
    "MW_ERR_MISUSE": MisuseError,
    "MW_ERR_NOMEM": OutOfMemoryError,
    "MW_ERR_IO": StorageIOError,
    "MW_ERR_INPUT": InputError,
    "MW_ERR_COMPONENT": ComponentError,
    "MW_ERR_ARTIFACT": ArtifactError,
    "MW_ERR_DENIED": DeniedError,
    "MW_ERR_BACKEND": BackendError,
    "MW_ERR_ENGINE": EngineError,
    "MW_ERR_LIMIT": LimitError,
    "MW_ERR_COMPILE": CompilationError,
}


def error_class(status_name: str) -> type[LibraryError]:
    return _BY_STATUS.get(status_name, LibraryError)


# ---- traps -----------------------------------------------------------------


class WasmTrap(MarieWasmError):
    """The guest was stopped. `kind` is the library's trap kind name
    ("timeout", "fuel_exhausted", ...), `message` Wasmtime's or the limit's
    message, and `result` the full execution result (stats, logs, events)."""

    kind: str = "guest_trap"

    def __init__(
        self,
        message: str,
        result: ExecutionResult | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        if kind is not None:
            self.kind = kind


class WasmFuelExhaustedError(WasmTrap):
    """The execution used up max_fuel."""

    kind = "fuel_exhausted"


class WasmTimeoutError(WasmTrap, TimeoutError):
    """The execution ran past timeout_ms (wall clock)."""

    kind = "timeout"


class WasmMemoryLimitError(WasmTrap, MemoryError):
    """The guest tried to grow its memory past max_memory_mb."""

    kind = "memory_limit"


class WasmStackOverflowError(WasmTrap, RecursionError):
    """The guest exhausted the wasm call stack."""

    kind = "stack_overflow"


class WasmOutputLimitError(WasmTrap):
    """The guest's response exceeded max_output_items or max_output_bytes."""

    kind = "output_limit"


class WasmGuestTrap(WasmTrap):
    """The guest faulted (unreachable, out-of-bounds access, ...)."""

    kind = "guest_trap"


_TRAPS: dict[str, type[WasmTrap]] = {
    cls.kind: cls
    for cls in (
        WasmFuelExhaustedError,
        WasmTimeoutError,
        WasmMemoryLimitError,
        WasmStackOverflowError,
        WasmOutputLimitError,
        WasmGuestTrap,
    )
}


def trap_class(kind: str) -> type[WasmTrap]:
    """The exception class for a trap kind name; WasmTrap for a kind this
    binding does not know yet (a newer library)."""
    return _TRAPS.get(kind, WasmTrap)
