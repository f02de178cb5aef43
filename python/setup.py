"""Build step of the marie_wasm package: bundle libmariewasm.so.

The package itself is pure Python (ctypes); what pip installs next to it is
the C library, found in this order:
  1. $MARIE_WASM_LIB (a path to libmariewasm.so);
  2. ../build/libmariewasm.so (the repository's usual CMake build);
  3. built now with CMake into ../build-py (tests off; the first build
     compiles Wasmtime with cargo and takes a while).
MARIE_WASM_BUNDLE=0 skips bundling: the installed package then finds the
library at run time ($MARIE_WASM_LIB or the system loader).
Metadata lives in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIB = "libmariewasm.so"


def find_or_build_library() -> Path:
    explicit = os.environ.get("MARIE_WASM_LIB")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SystemExit(f"MARIE_WASM_LIB={explicit}: no such file")
        return path
    built = REPO / "build" / LIB
    if built.is_file():
        return built
    if not (REPO / "CMakeLists.txt").is_file() or shutil.which("cmake") is None:
        raise SystemExit(
            "libmariewasm.so not found: set MARIE_WASM_LIB, build the repository "
            "(cmake --build build), or set MARIE_WASM_BUNDLE=0"
        )
    out = REPO / "build-py"
    # An argument list, no shell.
    subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(out), "-DMW_BUILD_TESTS=OFF",
         "-DCMAKE_BUILD_TYPE=Release"],
        check=True,
    )
    subprocess.run(
        ["cmake", "--build", str(out), "--target", "mariewasm",
         "-j", str(os.cpu_count() or 2)],
        check=True,
    )
    return out / LIB


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        if os.environ.get("MARIE_WASM_BUNDLE", "1") == "0":
            return
        src = find_or_build_library()
        dest = Path(self.build_lib) / "marie_wasm" / LIB
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)  # follows the .so -> .so.0 -> .so.0.1.0 links
        dest.chmod(0o755)


class PlatformDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=PlatformDistribution)
