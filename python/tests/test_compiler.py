"""WasmCompilerService with a real toolchain (Python)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from marie_wasm import (
    ArtifactStore,
    CompilationError,
    InputError,
    Language,
    WasmCompilerService,
)


@pytest.fixture
def compiler(python_toolchain: Path, tmp_path: Path) -> Iterator[WasmCompilerService]:
    # A fresh compile cache: the toolchain really runs.
    svc = WasmCompilerService(tmp_path / "store", cache_dir=tmp_path / "compile-cache")
    yield svc
    svc.close()


async def test_compile_runs_the_toolchain_then_hits_the_cache(
    compiler: WasmCompilerService, tmp_path: Path
) -> None:
    code = "def execute(input_items, config, context):\n    return {'ok': [len(input_items)]}\n"
    first = await compiler.compile_detailed(code, "py", "counter")
    assert first.cached is False
    assert re.fullmatch(r"[0-9a-f]{64}", first.sha256)
    assert first.key == f"wasm/nodes/counter/{first.sha256[:24]}.wasm"
    assert ArtifactStore(tmp_path / "store").get(first.key, expect_sha256=first.sha256)[:4] == b"\0asm"
    again = await compiler.compile(code, Language.PYTHON, "counter")
    assert again == first.key
    assert (await compiler.compile_detailed(code, "python", "counter")).cached is True


async def test_compile_error_reports_the_users_line(compiler: WasmCompilerService) -> None:
    code = "def execute(input_items, config, context):\n    return {'ok': [}\n"
    with pytest.raises(CompilationError) as e:
        await compiler.compile(code, Language.PYTHON, "broken")
    assert e.value.status_name == "MW_ERR_COMPILE"
    assert re.search(r"node\.py:2:\d+: ", e.value.stderr), e.value.stderr
    assert "compilation failed" in e.value.message


async def test_bad_node_id_fails_before_compiling(compiler: WasmCompilerService) -> None:
    with pytest.raises(InputError, match="node"):
        await compiler.compile("def execute(a, b, c):\n    return {'ok': []}\n", "py", "../etc")


async def test_dependencies_are_refused_with_a_reason(compiler: WasmCompilerService) -> None:
    with pytest.raises(CompilationError, match="no network"):
        await compiler.compile("x = 1\n", Language.PYTHON, "deps", dependencies=["requests"])
