"""Finding and loading libmariewasm, and the ctypes prototypes of its API.

Everything the package does goes through the `api` object built here: one
attribute per mw_ function, typed for mypy, with restype/argtypes set so
ctypes converts arguments and results. Opaque handles are c_void_p (Python
ints). ctypes releases the GIL around every call, so a long mw_execute or
mw_compile on a worker thread leaves the interpreter free.

Discovery order (the first that exists is loaded):
  1. $MARIE_WASM_LIB (when set, it must load: no silent fallback);
  2. libmariewasm.so bundled in this package's directory (pip install);
  3. <repo>/build/libmariewasm.so (a source checkout or editable install);
  4. the system loader (libmariewasm.so.0 on the library path).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Callable

from .errors import LibraryNotFoundError, error_class

LIB_ENV = "MARIE_WASM_LIB"
LIB_NAME = "libmariewasm.so"

# mw_result_to_json flags (execute.h).
JSON_STATS = 1
JSON_LOGS = 2
JSON_EVENTS = 4

# mw_outcome_t (execute.h), by value.
OUTCOMES = ("ok", "err", "trap")
# mw_log_level_t and mw_log_source_t (host.h), by value, as the library
# names them in its JSON documents. Trap kinds are named by
# mw_trap_kind_name, never as numbers here.
LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_SOURCES = ("console", "stdout", "stderr", "host")

# mw_request_set_items_packed / mw_result_pack: a length that means "no
# binary" (execute.h).
PACKED_NONE = 0xFFFFFFFF


class Completion(Structure):
    """mw_completion_t (runner.h)."""

    _fields_ = [
        ("tag", c_uint64),
        ("result", c_void_p),
        ("packed", c_void_p),
        ("packed_len", c_size_t),
        ("error", c_void_p),
    ]


# mw_runner_new flags (runner.h).
RUNNER_PACK = 1


class HttpOptions(Structure):
    """mw_http_options_t; filled by mw_http_options_init."""

    _fields_ = [
        ("allow_private_network", c_bool),
        ("max_redirects", c_uint32),
        ("connect_timeout_ms", c_uint64),
        ("max_response_bytes", c_uint64),
    ]


# name -> (restype, argtypes). Handles and owned char * are c_void_p;
# borrowed static or owned-by-handle strings are c_char_p (bytes).
_P = c_void_p
_PP = POINTER(c_void_p)
_PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    # error.h
    "mw_error_status": (c_int, [_P]),
    "mw_error_message": (c_char_p, [_P]),
    "mw_error_free": (None, [_P]),
    "mw_status_name": (c_char_p, [c_int]),
    # engine.h
    "mw_engine_config_new": (_P, []),
    "mw_engine_config_free": (None, [_P]),
    "mw_engine_config_cache_dir": (_P, [_P, c_char_p]),
    "mw_engine_config_pooling": (None, [_P, c_bool]),
    "mw_engine_config_pool_instances": (None, [_P, c_uint32]),
    "mw_engine_config_max_memory_mb": (None, [_P, c_uint32]),
    "mw_engine_config_tick_ms": (None, [_P, c_uint32]),
    "mw_engine_new": (_P, [_P, _PP]),
    "mw_engine_free": (None, [_P]),
    "mw_version": (c_char_p, []),
    "mw_wasmtime_version": (c_char_p, []),
    # component.h
    "mw_component_new": (_P, [_P, _P, c_size_t, _PP]),
    "mw_component_load_file": (_P, [_P, c_char_p, _PP]),
    "mw_component_free": (None, [_P]),
    "mw_component_capabilities": (c_uint, [_P]),
    "mw_component_sha256": (c_char_p, [_P]),
    "mw_component_describe": (_P, [_P, _PP]),
    # permissions.h
    "mw_permissions_from_json": (_P, [c_char_p, c_size_t, _PP]),
    "mw_permissions_to_json": (_P, [_P]),
    "mw_permissions_free": (None, [_P]),
    # host.h
    "mw_host_new": (_P, []),
    "mw_host_free": (None, [_P]),
    "mw_host_use_kv_url": (_P, [_P, c_char_p, _P]),
    "mw_http_options_init": (None, [POINTER(HttpOptions)]),
    "mw_host_use_curl_http": (_P, [_P, POINTER(HttpOptions)]),
    # execute.h
    "mw_request_new": (_P, [_PP]),
    "mw_request_free": (None, [_P]),
    "mw_request_set_items_packed": (_P, [_P, c_char_p, c_size_t]),
    "mw_request_add_secret": (_P, [_P, c_char_p, c_char_p]),
    "mw_request_set_env": (_P, [_P, c_char_p, c_size_t]),
    "mw_request_set_context": (_P, [_P, c_char_p, c_char_p, c_char_p, c_uint32]),
    "mw_request_set_context_json": (_P, [_P, c_char_p, c_size_t]),
    "mw_request_set_permissions": (None, [_P, _P]),
    "mw_request_set_host": (None, [_P, _P]),
    "mw_execute": (_P, [_P, _P, _P, _PP]),
    "mw_result_free": (None, [_P]),
    "mw_result_to_json": (_P, [_P, c_uint]),
    "mw_trap_kind_name": (c_char_p, [c_int]),
    "mw_result_pack": (_P, [_P, POINTER(c_size_t)]),
    # runner.h
    "mw_runner_new": (_P, [c_uint, c_uint, _PP]),
    "mw_runner_fd": (c_int, [_P]),
    "mw_runner_submit": (_P, [_P, _P, _P, _P, c_uint64]),
    "mw_runner_take": (c_size_t, [_P, POINTER(Completion), c_size_t]),
    "mw_runner_shutdown": (None, [_P]),
    "mw_runner_free": (None, [_P]),
    # storage.h
    "mw_store_open": (_P, [c_char_p, _PP]),
    "mw_store_free": (None, [_P]),
    "mw_store_node_key": (_P, [c_char_p, c_char_p, c_char_p, _PP]),
    "mw_store_put": (_P, [_P, c_char_p, _P, c_size_t]),
    "mw_store_get": (_P, [_P, c_char_p, c_char_p, _PP, POINTER(c_size_t)]),
    "mw_sha256_hex": (None, [_P, c_size_t, c_char_p]),
    # compiler.h
    "mw_language_name": (c_char_p, [c_int]),
    "mw_language_parse": (_P, [c_char_p, POINTER(c_int)]),
    "mw_compiler_config_new": (_P, []),
    "mw_compiler_config_free": (None, [_P]),
    "mw_compiler_config_guest_dir": (_P, [_P, c_char_p]),
    "mw_compiler_config_toolchains_dir": (_P, [_P, c_char_p]),
    "mw_compiler_config_cache_dir": (_P, [_P, c_char_p]),
    "mw_compiler_config_timeout_ms": (None, [_P, c_uint32]),
    "mw_compiler_new": (_P, [_P, _PP]),
    "mw_compiler_free": (None, [_P]),
    "mw_compile": (_P, [_P, c_int, c_char_p, c_size_t, c_char_p, _P, _P, _PP]),
    "mw_compile_result_wasm": (_P, [_P, POINTER(c_size_t)]),
    "mw_compile_result_sha256": (c_char_p, [_P]),
    "mw_compile_result_cached": (c_bool, [_P]),
    "mw_compile_result_ms": (c_uint64, [_P]),
    "mw_compile_result_warnings": (c_char_p, [_P]),
    "mw_compile_result_free": (None, [_P]),
}

class Api:
    """The loaded library: one callable per prototype above, plus libc's
    malloc/free (buffers crossing the boundary are malloc'd)."""

    path: str
    malloc: Callable[[int], int | None]
    free: Callable[[int | None], None]

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.path = path
        self._cdll = cdll
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(cdll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        libc = ctypes.CDLL(None)
        libc.malloc.restype = c_void_p
        libc.malloc.argtypes = [c_size_t]
        libc.free.restype = None
        libc.free.argtypes = [c_void_p]
        self.malloc = libc.malloc
        self.free = libc.free

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set in __init__: a typo or a function
        # missing from _PROTOTYPES.
        raise AttributeError(f"libmariewasm binding has no function {name!r}")

    def take_string(self, ptr: int | None) -> str:
        """Copies a malloc'd C string owned by the caller, then frees it."""
        if not ptr:
            raise MemoryError("libmariewasm: out of memory")
        try:
            return ctypes.string_at(ptr).decode("utf-8")
        finally:
            self.free(ptr)


def _candidates() -> list[str]:
    here = Path(__file__).resolve().parent
    found = [
        str(here / LIB_NAME),
        str(here.parent.parent / "build" / LIB_NAME),
    ]
    paths = [p for p in found if os.path.exists(p)]
    system = ctypes.util.find_library("mariewasm")
    paths.append(system or "libmariewasm.so.0")
    return paths


def _load() -> Api:
    explicit = os.environ.get(LIB_ENV)
    if explicit:
        try:
            return Api(ctypes.CDLL(explicit), explicit)
        except OSError as e:
            raise LibraryNotFoundError(f"{LIB_ENV}={explicit}: {e}") from e
    tried: list[str] = []
    for path in _candidates():
        try:
            return Api(ctypes.CDLL(path), path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise LibraryNotFoundError(
        "libmariewasm not found; build it (cmake --build build) or set "
        f"{LIB_ENV} to its path. Tried:\n  " + "\n  ".join(tried)
    )


_api: Api | None = None
_api_lock = threading.Lock()


def lib() -> Api:
    """The loaded library, loaded on first use (thread-safe)."""
    global _api
    if _api is None:
        with _api_lock:
            if _api is None:
                _api = _load()
    return _api


def out_ptr() -> c_void_p:
    """A fresh out-parameter for a handle (pass with ctypes.byref)."""
    return c_void_p()


def encode(text: str) -> bytes:
    """UTF-8 for the C side; a NUL would silently cut a C string short."""
    b = text.encode("utf-8")
    if b"\0" in b:
        raise ValueError(f"string contains a NUL byte: {text[:40]!r}")
    return b


def check(err: int | None) -> None:
    """Raises the LibraryError subclass for an owned mw_error_t (and frees
    it); does nothing for NULL (success)."""
    taken = take_error(err)
    if taken is not None:
        status, name, message = taken
        raise error_class(name)(message, status, name)


def take_error(err: int | None) -> tuple[int, str, str] | None:
    """(status, status name, message) of an owned mw_error_t, freed; None
    for NULL. For callers that raise their own exception type."""
    if not err:
        return None
    api = lib()
    status = int(api.mw_error_status(err))
    message = bytes(api.mw_error_message(err)).decode("utf-8", "replace")
    name = bytes(api.mw_status_name(status)).decode("ascii")
    api.mw_error_free(err)
    return status, name, message
