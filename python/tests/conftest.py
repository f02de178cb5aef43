"""Shared fixtures: the real test components (tests/components in the
repository, built by CMake) and executors over one engine per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from marie_wasm import Engine, WasmExecutor

REPO = Path(__file__).resolve().parents[2]


def components_dir() -> Path:
    env = os.environ.get("MW_TEST_COMPONENTS")
    return Path(env) if env else REPO / "build" / "tests" / "components"


@pytest.fixture(scope="session")
def components() -> Path:
    d = components_dir()
    if not (d / "echo.wasm").is_file():
        pytest.skip(f"test components not built in {d} (cmake --build build)")
    return d


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(cache_dir=tmp_path_factory.mktemp("engine-cache"))
    yield eng
    eng.close()


@pytest.fixture
def executor(engine: Engine, tmp_path: Path) -> Iterator[WasmExecutor]:
    ex = WasmExecutor(engine, storage=tmp_path / "store")
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def wasm(components: Path) -> Callable[[str], str]:
    """wasm("echo") -> the path of the echo test component."""
    return lambda name: str(components / f"{name}.wasm")


def _python_toolchain() -> Path:
    # Where libmariewasm looks (compiler.h): $MW_PYTHON_TOOLCHAIN, else
    # <toolchains root>/python.
    env = os.environ.get("MW_PYTHON_TOOLCHAIN")
    if env:
        return Path(env)
    root = os.environ.get("MW_TOOLCHAINS_DIR")
    if not root:
        root = (
            "/opt/marie-wasm/toolchains"
            if os.geteuid() == 0
            else str(Path.home() / ".cache" / "marie-wasm" / "toolchains")
        )
    return Path(root) / "python"


@pytest.fixture(scope="session")
def python_toolchain() -> Path:
    """Skips unless the Python toolchain and the sandbox are installed."""
    tc = _python_toolchain()
    if not (tc / ".toolchain-id").is_file():
        pytest.skip(
            f"Python toolchain not installed ({tc}/.toolchain-id missing; "
            "run guest/python/install-toolchain.sh)"
        )
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) not installed: the compile sandbox needs it")
    return tc
