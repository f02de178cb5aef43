"""`pip install` of the package bundles libmariewasm, and the installed
package finds it without any environment variable."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import marie_wasm

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def test_pip_install_bundles_the_library(tmp_path: Path) -> None:
    try:
        have = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("setuptools is not installed in this interpreter")
    if tuple(int(x) for x in have.split(".")[:2]) < (70, 1):
        pytest.skip(f"setuptools {have} < 70.1 cannot build the wheel")
    src = tmp_path / "src"
    shutil.copytree(
        PACKAGE_DIR,
        src,
        ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", ".mypy_cache", ".pytest_cache", "*.so"
        ),
    )
    target = tmp_path / "site"
    env = dict(os.environ, MARIE_WASM_LIB=marie_wasm.library_path())
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-build-isolation", "--no-deps", "--target", str(target), str(src)],
        check=True,
        env=env,
        timeout=300,
    )
    bundled = target / "marie_wasm" / "libmariewasm.so"
    assert bundled.is_file()
    assert (target / "marie_wasm" / "py.typed").is_file()

    env.pop("MARIE_WASM_LIB")
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, "-c",
         "import marie_wasm as m; print(m.library_path()); print(m.Language.from_string('ts').value)"],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert out == [str(bundled), "ts"]


def test_explicit_library_path_must_load(tmp_path: Path) -> None:
    env = dict(os.environ, MARIE_WASM_LIB=str(tmp_path / "missing.so"),
               PYTHONPATH=str(PACKAGE_DIR))
    proc = subprocess.run(
        [sys.executable, "-c", "import marie_wasm as m; m.library_path()"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "LibraryNotFoundError" in proc.stderr and "missing.so" in proc.stderr
