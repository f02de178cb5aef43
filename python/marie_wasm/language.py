"""Language: the source languages a node can be written in.

The values are the original API's ("rust", "python", "js"); parsing names
and short forms is the library's (mw_language_parse), so the Python API, the
CLI and the HTTP service accept exactly the same spellings.
"""

from __future__ import annotations

import ctypes
from enum import Enum

from ._lib import check, encode, lib


class Language(str, Enum):
    RUST = "rust"
    PYTHON = "python"
    JAVASCRIPT = "js"
    TYPESCRIPT = "ts"
    C = "c"

    @classmethod
    def from_string(cls, name: str) -> Language:
        """Parses a language name, its short form or file extension, in any
        case: "python"/"py"/".py", "javascript"/"js", "typescript"/"ts",
        "rust"/"rs", "c". Raises InputError listing the languages."""
        if isinstance(name, Language):
            return name
        return _from_c(_parse(name))

    @property
    def c_value(self) -> int:
        """The library's mw_language_t for this language."""
        return _parse(self.value)

    @property
    def full_name(self) -> str:
        """The library's name: "python", "javascript", "typescript", ..."""
        api = lib()
        return bytes(api.mw_language_name(self.c_value)).decode("ascii")


def _parse(name: str) -> int:
    out = ctypes.c_int()
    check(lib().mw_language_parse(encode(name), ctypes.byref(out)))
    return out.value


_BY_C_NAME = {
    "rust": Language.RUST,
    "python": Language.PYTHON,
    "javascript": Language.JAVASCRIPT,
    "typescript": Language.TYPESCRIPT,
    "c": Language.C,
}


def _from_c(value: int) -> Language:
    name = bytes(lib().mw_language_name(value)).decode("ascii")
    return _BY_C_NAME[name]
