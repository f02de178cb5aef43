"""The seed README's Quick Start, as written, inside an async function."""

from __future__ import annotations

import re
from pathlib import Path

from marie_wasm import Engine, WasmExecutor


async def test_seed_quick_start_compiles_and_runs(
    python_toolchain: Path, engine: Engine, tmp_path: Path
) -> None:
    my_storage = str(tmp_path / "artifacts")

    # ---- the README's code, unchanged --------------------------------------
    from marie_wasm import WasmCompilerService, Language

    compiler = WasmCompilerService(storage_client=my_storage)

    # Compile Python code to Wasm
    wasm_path = await compiler.compile(
        code='''
def execute(input_items, config, context):
    results = []
    for item in input_items:
        data = json.loads(item["json"])
        results.append({"json": json.dumps({"processed": data})})
    return {"success": results}
''',
        language=Language.PYTHON,
        node_id="my-node-123",
    )
    # --------------------------------------------------------------------------

    assert re.fullmatch(r"wasm/nodes/my-node-123/[0-9a-f]{24}\.wasm", wasm_path)
    assert (tmp_path / "artifacts" / wasm_path).is_file()

    # Executing by key, as marie-ai's WasmNodeExecutor does with wasm_path.
    with WasmExecutor(engine, storage=my_storage) as executor:
        result = await executor.execute(wasm_path, items=[{"json": '{"input": "data"}'}])
    assert result.ok
    assert [i.data for i in result.items] == [{"processed": {"input": "data"}}]
    compiler.close()
