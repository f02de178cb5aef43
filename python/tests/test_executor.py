"""WasmExecutor against the real test components: outcomes, traps,
permissions and the component cache."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from marie_wasm import (
    ArtifactStore,
    ComponentError,
    Engine,
    InputError,
    Permissions,
    StorageIOError,
    WasmExecutor,
    WasmFuelExhaustedError,
    WasmGuestTrap,
    WasmInputDoc,
    WasmMemoryLimitError,
    WasmOutputLimitError,
    WasmStackOverflowError,
    WasmTimeoutError,
    WasmTrap,
)

Wasm = Callable[[str], str]


def data(result: Any) -> list[Any]:
    return [item.data for item in result.items]


# ---- outcomes ---------------------------------------------------------------


async def test_echo_returns_the_items_with_binary_and_stats(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    result = await executor.execute(
        wasm("echo"),
        items=[{"json": '{"n": 1}', "binary": b"\x00\xffhi"}, WasmInputDoc("2")],
    )
    assert result.ok and result.outcome == "ok"
    assert [(i.json, i.binary) for i in result.items] == [('{"n": 1}', b"\x00\xffhi"), ("2", None)]
    assert result.stats.fuel_used > 0
    assert result.stats.bytes_in == len('{"n": 1}') + 4 + 1
    assert result.error is None and result.trap is None


async def test_items_accept_json_values_and_plain_text(executor: WasmExecutor, wasm: Wasm) -> None:
    result = await executor.execute(wasm("echo"), items=[{"json": {"a": [1, 2]}}, "[3]"])
    assert data(result) == [{"a": [1, 2]}, [3]]


async def test_config_and_context_reach_the_guest(executor: WasmExecutor, wasm: Wasm) -> None:
    result = await executor.execute(
        wasm("context"),
        items=["1", "2"],
        config={"threshold": 3},
        context={"workflow_id": "wf-1", "execution_id": "ex-1", "node_id": "n-1", "run_index": 4},
    )
    assert data(result) == [
        {
            "workflow_id": "wf-1",
            "execution_id": "ex-1",
            "node_id": "n-1",
            "run_index": 4,
            "env": '{"threshold": 3}',
            "count": 2,
        }
    ]


async def test_guest_err_is_a_result_not_an_exception(executor: WasmExecutor, wasm: Wasm) -> None:
    result = await executor.execute(wasm("guesterr"))
    assert result.outcome == "err" and not result.ok
    assert result.error == "bad input: expected a number"
    assert result.to_dict()["err"] == "bad input: expected a number"


async def test_execute_sync_runs_on_the_calling_thread(executor: WasmExecutor, wasm: Wasm) -> None:
    assert data(executor.execute_sync(wasm("echo"), items=["7"])) == [7]


# ---- traps ------------------------------------------------------------------

TRAPS: list[tuple[str, dict[str, Any], str | None, type[WasmTrap]]] = [
    ("loop", {"timeout_ms": 200, "max_fuel": 10**15}, None, WasmTimeoutError),
    ("loop", {"max_fuel": 100_000}, None, WasmFuelExhaustedError),
    ("membomb", {"max_memory_mb": 16}, None, WasmMemoryLimitError),
    ("recurse", {}, None, WasmStackOverflowError),
    ("trap", {}, None, WasmGuestTrap),
    ("bigoutput", {"max_output_items": 10}, "100", WasmOutputLimitError),
]


@pytest.mark.parametrize(("name", "perms", "config", "exc"), TRAPS)
async def test_each_trap_kind_raises_its_exception(
    executor: WasmExecutor,
    wasm: Wasm,
    name: str,
    perms: dict[str, Any],
    config: str | None,
    exc: type[WasmTrap],
) -> None:
    with pytest.raises(exc) as e:
        await executor.execute(wasm(name), config=config, permissions=perms)
    assert e.value.kind == exc.kind
    assert e.value.result is not None and e.value.result.trap is not None
    assert e.value.result.trap.kind == exc.kind
    assert e.value.message == e.value.result.trap.message != ""


async def test_trap_exceptions_are_catchable_as_builtin_kinds(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    with pytest.raises(TimeoutError):
        await executor.execute(wasm("loop"), permissions={"timeout_ms": 100, "max_fuel": 10**15})
    with pytest.raises(MemoryError):
        await executor.execute(wasm("membomb"), permissions={"max_memory_mb": 8})


async def test_trap_as_result_when_not_raising(executor: WasmExecutor, wasm: Wasm) -> None:
    result = await executor.execute(
        wasm("membomb"), permissions=Permissions(max_memory_mb=8), raise_on_trap=False
    )
    assert result.outcome == "trap" and result.trap is not None
    assert result.trap.kind == "memory_limit"
    assert "max_memory_mb 8" in result.trap.message
    assert 4 << 20 < result.stats.memory_peak_bytes <= 8 << 20


# ---- permissions ------------------------------------------------------------

HOST_COMMANDS = ["secret API_KEY", "kv_put k - v", "kv_get k", "http GET https://api.example.com/"]


async def test_default_permissions_deny_http_secrets_and_kv(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    result = await executor.execute(
        wasm("host"), items=HOST_COMMANDS, credentials={"API_KEY": "s3cret"}
    )
    secret, put, get, fetch = data(result)
    assert secret == {"op": "secret", "found": False}
    assert put["ok"] is False and "allow_kv" in put["error"]
    assert get == {"op": "kv_get", "found": False}
    assert fetch["ok"] is False and "allow_http" in fetch["error"]
    assert result.stats.denied_calls == 4
    denials = [r.message for r in result.logs if r.source == "host"]
    assert any("secret_allowed_names" in m for m in denials)


async def test_allow_flag_with_empty_allow_list_still_denies(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    perms = Permissions(allow_http=True, allow_secrets=True)
    result = await executor.execute(
        wasm("host"), items=HOST_COMMANDS[:1] + HOST_COMMANDS[3:], permissions=perms,
        credentials={"API_KEY": "s3cret"},
    )
    secret, fetch = data(result)
    assert secret["found"] is False
    assert fetch["ok"] is False and "denied" in fetch["error"]
    assert result.stats.denied_calls == 2


async def test_allowed_secret_is_read_and_redacted_in_logs(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    perms = Permissions(allow_secrets=True, secret_allowed_names=["API_KEY"])
    result = await executor.execute(
        wasm("host"),
        items=["secret API_KEY", "secret OTHER", "log info token=s3cret"],
        permissions=perms,
        credentials={"API_KEY": "s3cret", "OTHER": "x"},
    )
    assert data(result)[:2] == [
        {"op": "secret", "found": True, "value": "s3cret"},
        {"op": "secret", "found": False},
    ]
    assert [r.message for r in result.logs if r.source == "console"] == ["token=[REDACTED]"]


async def test_secrets_are_those_of_the_call(executor: WasmExecutor, wasm: Wasm) -> None:
    perms = Permissions(allow_secrets=True, secret_allowed_names=["API_KEY"])
    first = await executor.execute(
        wasm("host"), items=["secret API_KEY"], permissions=perms, credentials={"API_KEY": "one"}
    )
    second = await executor.execute(wasm("host"), items=["secret API_KEY"], permissions=perms)
    assert data(first) == [{"op": "secret", "found": True, "value": "one"}]
    assert data(second) == [{"op": "secret", "found": False}]


async def test_kv_persists_across_executions_within_its_prefix(
    executor: WasmExecutor, wasm: Wasm
) -> None:
    mine = Permissions(allow_kv=True, kv_prefix="user-1:")
    theirs = Permissions(allow_kv=True, kv_prefix="user-2:")
    await executor.execute(wasm("host"), items=["kv_put cursor - 2024"], permissions=mine)
    again = await executor.execute(wasm("host"), items=["kv_get cursor"], permissions=mine)
    other = await executor.execute(wasm("host"), items=["kv_get cursor"], permissions=theirs)
    assert data(again) == [{"op": "kv_get", "found": True, "value": "2024"}]
    assert data(other) == [{"op": "kv_get", "found": False}]


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello " + self.headers.get("x-test", "").encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_http_reaches_an_allowed_host_only(
    engine: Engine, wasm: Wasm, http_server: int
) -> None:
    perms = Permissions(allow_http=True, http_allowed_hosts=["127.0.0.1"], timeout_ms=10_000)
    url = f"http://127.0.0.1:{http_server}/"
    with WasmExecutor(engine, allow_private_network=True) as ex:
        result = await ex.execute(
            wasm("host"), items=[f"http GET {url}", f"http GET http://localhost:{http_server}/"],
            permissions=perms,
        )
    allowed, other = data(result)
    assert allowed == {"op": "http", "ok": True, "status": 200, "body": "hello 1"}
    assert other["ok"] is False and "denied" in other["error"]


# ---- inputs the library refuses -----------------------------------------------


async def test_bad_permissions_fail_before_running(executor: WasmExecutor, wasm: Wasm) -> None:
    with pytest.raises(InputError, match="max_memory_mb"):
        await executor.execute(wasm("echo"), permissions=Permissions(max_memory_mb=0))
    with pytest.raises(InputError, match="unknown field 'timeout'"):
        await executor.execute(wasm("echo"), permissions={"timeout": 5})


async def test_bad_context_names_the_field(executor: WasmExecutor, wasm: Wasm) -> None:
    with pytest.raises(InputError, match="context.run_index"):
        await executor.execute(wasm("echo"), context={"run_index": "x"})


async def test_component_outside_the_world_is_refused(executor: WasmExecutor, wasm: Wasm) -> None:
    with pytest.raises(ComponentError, match="evil:net/raw"):
        await executor.execute(wasm("badimport"))


async def test_missing_component_says_not_found(executor: WasmExecutor) -> None:
    with pytest.raises(StorageIOError, match="not found"):
        await executor.execute("wasm/nodes/nobody/000000000000000000000000.wasm")


async def test_credentials_must_be_strings(executor: WasmExecutor, wasm: Wasm) -> None:
    with pytest.raises(TypeError):
        await executor.execute(wasm("echo"), credentials={"API_KEY": 1})  # type: ignore[dict-item]


# ---- component cache ----------------------------------------------------------


async def test_components_are_loaded_once_per_engine(wasm: Wasm, tmp_path: Path) -> None:
    engine = Engine()
    store = ArtifactStore(tmp_path)
    echo = Path(wasm("echo")).read_bytes()
    key = ArtifactStore.node_key("node-1", engine.load(echo).sha256)
    store.put(key, echo)
    with WasmExecutor(engine, storage=store) as ex:
        for source in (wasm("echo"), echo, key, key, wasm("echo")):
            assert data(await ex.execute(source, items=["1"])) == [1]
    info = engine.cache_info()
    assert (info.misses, info.size) == (1, 1)
    assert info.hits == 5
    engine.close()


async def test_component_reports_its_capabilities(engine: Engine, wasm: Wasm) -> None:
    assert engine.load(wasm("echo")).capabilities == frozenset()
    host = engine.load(wasm("host"))
    assert {"http", "secrets", "kv", "console", "events"} <= host.capabilities
    assert host.describe()["fits_world"] is True


async def test_missing_file_is_not_mistaken_for_a_key(executor: WasmExecutor, tmp_path: Path) -> None:
    with pytest.raises(StorageIOError, match="no such file"):
        await executor.execute(tmp_path / "gone.wasm")
    with pytest.raises(StorageIOError, match="no such file"):
        await executor.execute(str(tmp_path / "gone.wasm"))


async def test_engine_settings_are_applied(wasm: Wasm) -> None:
    engine = Engine(pool_instances=2, max_memory_mb=32, tick_ms=1)
    async with WasmExecutor(engine) as ex:
        comp = ex.load(wasm("echo"))
        assert data(await ex.execute(comp, items=["5"])) == [5]
        # The engine-wide memory ceiling caps even a generous permission.
        with pytest.raises(WasmMemoryLimitError) as e:
            await ex.execute(wasm("membomb"), permissions={"max_memory_mb": 64})
        assert e.value.result is not None
        assert e.value.result.stats.memory_peak_bytes <= 32 << 20
    engine.close()


async def test_engine_without_pooling_runs_components(wasm: Wasm) -> None:
    engine = Engine(pooling=False)
    with WasmExecutor(engine) as ex:
        assert data(await ex.execute(wasm("echo"), items=["6"])) == [6]
    engine.close()
