"""The binding's few-calls paths: items in one packed buffer, the result in
one packed buffer (checked against the library's JSON document), and the
async path on the library's runner (cancellation, closing with executions
in flight, several event loops)."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from marie_wasm import Engine, ExecutionResult, InputError, Permissions, WasmExecutor, WasmInputDoc
from marie_wasm._lib import JSON_EVENTS, JSON_LOGS, JSON_STATS, lib, out_ptr
from marie_wasm.permissions import shared_handle

Wasm = Callable[[str], str]


class Doc(Mapping[str, Any]):
    """A Mapping that is not a dict: takes the general path."""

    def __init__(self, **kw: Any) -> None:
        self._d = kw

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


# ---- packed items -------------------------------------------------------------


async def test_every_item_shape_round_trips(executor: WasmExecutor, wasm: Wasm) -> None:
    items: list[Any] = [
        "1",
        {"json": '"caf\u00e9 \u2603"'},
        {"json": "2", "binary": b""},  # empty binary is not absent
        {"json": "3", "binary": None},
        {"json": "4", "binary": bytearray(b"\x00\x01")},
        WasmInputDoc("5", b"\xff" * 3000),
        Doc(json={"n": 6}),
        '"a\\u0000b"',
    ]
    want = [
        ("1", None),
        ('"caf\u00e9 \u2603"', None),
        ("2", b""),
        ("3", None),
        ("4", b"\x00\x01"),
        ("5", b"\xff" * 3000),
        ('{"n": 6}', None),
        ('"a\\u0000b"', None),
    ]
    for run in (executor.execute_sync, executor.execute):
        result = run(wasm("echo"), items)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        assert [(i.json, i.binary) for i in result.items] == want


async def test_bad_items_fail_before_running(executor: WasmExecutor, wasm: Wasm) -> None:
    with pytest.raises(ValueError, match="without a 'json' field"):
        await executor.execute(wasm("echo"), [{"binary": b"x"}])
    with pytest.raises(TypeError, match="binary must be bytes"):
        await executor.execute(wasm("echo"), [{"json": "1", "binary": "text"}])


async def test_context_fast_path_and_json_path_agree(executor: WasmExecutor, wasm: Wasm) -> None:
    ctx = {"workflow_id": "wf-1", "execution_id": "ex-\u00e9", "node_id": "n", "run_index": 7}
    fast = executor.execute_sync(wasm("context"), context=ctx)
    general = executor.execute_sync(wasm("context"), context=Doc(**ctx))
    assert fast.items[0].data == general.items[0].data
    assert fast.items[0].data["run_index"] == 7
    with pytest.raises(InputError, match="run_index"):
        executor.execute_sync(wasm("context"), context={**ctx, "run_index": -1})
    with pytest.raises(InputError, match="extra"):
        executor.execute_sync(wasm("context"), context={**ctx, "extra": 1})


# ---- packed result -------------------------------------------------------------

SCENARIOS: list[tuple[str, list[Any], dict[str, Any]]] = [
    ("echo", [{"json": "1", "binary": b"\x00b"}, "2"], {}),
    ("guesterr", ["1"], {}),
    ("loop", [], {"max_fuel": 50_000}),
    ("membomb", [], {"max_memory_mb": 8}),
    (
        "host",
        [
            "log debug d",
            "log info i",
            "log warn w",
            "log error e",
            "print out",
            "eprint err",
            "event t1 {\"k\": 1}",
            "event t2 caf\u00e9",
            "secret NOPE",
        ],
        {},
    ),
]


@pytest.mark.parametrize("name,items,perms", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_packed_result_equals_the_json_document(
    executor: WasmExecutor, wasm: Wasm, name: str, items: list[Any], perms: dict[str, Any]
) -> None:
    api = lib()
    comp = executor.load(wasm(name))
    handle = shared_handle(perms)
    req = executor._request(items, None, None, handle, None)
    res = out_ptr()
    try:
        assert api.mw_execute(comp.engine_handle, comp.handle, req, ctypes.byref(res)) is None
        packed = ExecutionResult.from_handle(res)
        doc = api.take_string(api.mw_result_to_json(res, JSON_STATS | JSON_LOGS | JSON_EVENTS))
    finally:
        api.mw_result_free(res)
        api.mw_request_free(req)
    assert packed == ExecutionResult.from_json(doc)
    if name == "host":
        assert len(packed.logs) >= 7 and len(packed.events) == 2


# ---- the async path ------------------------------------------------------------

SPIN = Permissions(timeout_ms=400, max_fuel=10**15)


async def test_a_cancelled_await_leaves_the_executor_usable(engine: Engine, wasm: Wasm) -> None:
    with WasmExecutor(engine, max_workers=2) as ex:
        task = asyncio.create_task(ex.execute(wasm("loop"), permissions=SPIN))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await ex.execute(wasm("echo"), ["1"])).items[0].json == "1"
        await asyncio.sleep(0.5)  # the cancelled one reaches its timeout
        assert (await ex.execute(wasm("echo"), ["2"])).items[0].json == "2"
        assert ex._pending == {}


async def test_async_close_delivers_executions_in_flight(engine: Engine, wasm: Wasm) -> None:
    async with WasmExecutor(engine, max_workers=2) as ex:
        ex.load(wasm("loop"))  # loaded: the executions start at once
        tasks = [
            asyncio.create_task(ex.execute(wasm("loop"), permissions=SPIN, raise_on_trap=False))
            for _ in range(3)
        ]
        await asyncio.sleep(0.05)
    # Leaving the block waited for all three (two at once, then the third)
    # and settled their futures: the tasks finish without waiting for more.
    await asyncio.sleep(0)
    assert all(t.done() for t in tasks)
    kinds = [t.result().trap for t in tasks]
    assert [k.kind if k else None for k in kinds] == ["timeout"] * 3
    with pytest.raises(ValueError, match="closed"):
        await ex.execute(wasm("echo"), ["1"])


async def test_many_executions_each_get_their_own_result(engine: Engine, wasm: Wasm) -> None:
    with WasmExecutor(engine, max_workers=3) as ex:
        results = await asyncio.gather(
            *(ex.execute(wasm("echo"), [str(i), f'"{i}"']) for i in range(300))
        )
    assert [[item.json for item in r.items] for r in results] == [
        [str(i), f'"{i}"'] for i in range(300)
    ]


def test_event_loops_on_two_threads_share_one_executor(engine: Engine, wasm: Wasm) -> None:
    ex = WasmExecutor(engine, max_workers=2)
    got: dict[int, list[str]] = {}

    async def run(k: int) -> list[str]:
        out = []
        for i in range(50):
            r = await ex.execute(wasm("echo"), [f"{k * 1000 + i}"])
            out.append(r.items[0].json)
        return out

    def thread(k: int) -> None:
        got[k] = asyncio.run(run(k))

    threads = [threading.Thread(target=thread, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ex.close()
    assert got == {k: [str(k * 1000 + i) for i in range(50)] for k in (1, 2)}


async def test_changed_permissions_take_effect(executor: WasmExecutor, wasm: Wasm) -> None:
    perms = Permissions(allow_secrets=True, secret_allowed_names=["A"])
    creds = {"A": "value-a", "B": "value-b"}
    first = await executor.execute(wasm("host"), ["secret B"], permissions=perms, credentials=creds)
    assert first.items[0].data == {"op": "secret", "found": False}
    perms.secret_allowed_names.append("B")  # the same object, changed
    second = await executor.execute(wasm("host"), ["secret B"], permissions=perms, credentials=creds)
    assert second.items[0].data == {"op": "secret", "found": True, "value": "value-b"}
