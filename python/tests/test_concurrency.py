"""Executions run on the thread pool with the GIL released: Python keeps
running while a component spins, and several executions overlap."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from marie_wasm import Engine, Permissions, WasmExecutor, WasmTimeoutError

Wasm = Callable[[str], str]

SPIN = Permissions(timeout_ms=3000, max_fuel=10**15)


async def test_python_threads_run_while_a_component_spins(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    counting = threading.Thread(target=count)
    counting.start()
    try:
        task = asyncio.create_task(executor.execute(wasm("loop"), permissions=SPIN))
        await asyncio.sleep(0.3)  # the execution is under way
        before = counter
        await asyncio.sleep(0.5)
        during = counter - before
        # Had mw_execute held the GIL, neither this coroutine nor the
        # counting thread could have run until the loop timed out.
        assert not task.done()
        assert during > 10_000
        try:
            await task
            raise AssertionError("loop returned")
        except WasmTimeoutError as e:
            assert e.result is not None and e.result.stats.wall_time_ms >= 2900
    finally:
        stop.set()
        counting.join()


async def test_several_executions_overlap_on_the_pool(engine: Engine, wasm: Wasm) -> None:
    n = 4
    spin = Permissions(timeout_ms=1000, max_fuel=10**15)
    with WasmExecutor(engine, max_workers=n) as ex:
        await ex.execute(wasm("loop"), permissions=Permissions(max_fuel=1000), raise_on_trap=False)
        start = time.monotonic()
        results = await asyncio.gather(
            *(ex.execute(wasm("loop"), permissions=spin, raise_on_trap=False) for _ in range(n))
        )
        elapsed_ms = (time.monotonic() - start) * 1000
    assert [r.trap.kind if r.trap else None for r in results] == ["timeout"] * n
    # Each execution spent its time inside the guest; run one after another
    # they could not add up to more than the time all of them took.
    in_guest_ms = sum(r.stats.wall_time_ms for r in results)
    assert in_guest_ms > 1.5 * elapsed_ms, (in_guest_ms, elapsed_ms)


async def test_concurrent_executions_each_see_their_own_credentials(
    engine: Engine, wasm: Wasm
) -> None:
    perms = Permissions(allow_secrets=True, secret_allowed_names=["API_KEY"])
    with WasmExecutor(engine, max_workers=8) as ex:
        results = await asyncio.gather(
            *(
                ex.execute(
                    wasm("host"),
                    items=["secret API_KEY"] * 20,
                    permissions=perms,
                    credentials={"API_KEY": f"key-{i}"},
                )
                for i in range(32)
            )
        )
    for i, r in enumerate(results):
        assert {item.data["value"] for item in r.items} == {f"key-{i}"}


async def test_concurrent_first_loads_compile_once(wasm: Wasm) -> None:
    engine = Engine()
    with WasmExecutor(engine, max_workers=6) as ex:
        await asyncio.gather(*(ex.execute(wasm("context")) for _ in range(6)))
    info = engine.cache_info()
    assert (info.misses, info.size) == (1, 1)
    engine.close()
