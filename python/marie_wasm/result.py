"""The values going into and coming out of an execution.

ExecutionResult is read from the library's result (mw_result_t) through
its accessors, the same values mw_result_to_json writes for the CLI and
the HTTP service (from_json parses that document), so every field means
exactly what it means there. The accessors skip a JSON round trip that
cost more than the execution of a small node (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import base64
import ctypes
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ._lib import LOG_LEVELS, LOG_SOURCES, OUTCOMES, Stats, lib


@dataclass(frozen=True)
class WasmInputDoc:
    """One input item: `json` is JSON text, `binary` optional bytes."""

    json: str
    binary: bytes | None = None


@dataclass(frozen=True)
class OutputItem:
    """One item the node returned: JSON text and optional bytes."""

    json: str
    binary: bytes | None = None

    @property
    def data(self) -> Any:
        """The item's JSON parsed."""
        return json.loads(self.json)


@dataclass(frozen=True)
class ExecutionStats:
    fuel_used: int = 0
    wall_time_ms: float = 0.0
    memory_peak_bytes: int = 0
    host_calls: int = 0
    denied_calls: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    logs_dropped: int = 0
    events_dropped: int = 0


@dataclass(frozen=True)
class LogRecord:
    level: str  # debug | info | warn | error
    source: str  # console | stdout | stderr | host
    message: str


@dataclass(frozen=True)
class Event:
    type: str
    payload: str


@dataclass(frozen=True)
class TrapInfo:
    kind: str  # fuel_exhausted | timeout | memory_limit | stack_overflow | output_limit | guest_trap
    message: str


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of one execution: exactly one of `items` (ok), `error`
    (the guest's err) or `trap` is meaningful, as `outcome` says."""

    outcome: Literal["ok", "err", "trap"]
    items: list[OutputItem] = field(default_factory=list)
    error: str | None = None
    trap: TrapInfo | None = None
    stats: ExecutionStats = field(default_factory=ExecutionStats)
    logs: list[LogRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The library's result document shape: {"ok": [...]} | {"err": ...}
        | {"trap": {...}}, plus stats, logs and events."""
        doc: dict[str, Any]
        if self.outcome == "ok":
            doc = {"ok": [_item_dict(i) for i in self.items]}
        elif self.outcome == "err":
            doc = {"err": self.error}
        else:
            assert self.trap is not None
            doc = {"trap": {"kind": self.trap.kind, "message": self.trap.message}}
        doc["stats"] = dict(self.stats.__dict__)
        doc["logs"] = [dict(r.__dict__) for r in self.logs]
        doc["events"] = [dict(e.__dict__) for e in self.events]
        return doc

    @classmethod
    def from_handle(cls, res: int | ctypes.c_void_p) -> ExecutionResult:
        """Reads an mw_result_t (borrowed; the caller frees it)."""
        api = lib()
        st = Stats()
        api.mw_result_stats(res, ctypes.byref(st))
        stats = ExecutionStats(
            st.fuel_used,
            st.wall_time_us / 1000.0,
            st.memory_peak_bytes,
            st.host_calls,
            st.denied_calls,
            st.bytes_in,
            st.bytes_out,
            st.logs_dropped,
            st.events_dropped,
        )
        logs: list[LogRecord] = []
        n_logs = int(api.mw_result_log_count(res))
        if n_logs:
            level, source = ctypes.c_int(), ctypes.c_int()
            for i in range(n_logs):
                message = api.mw_result_log(res, i, ctypes.byref(level), ctypes.byref(source))
                logs.append(
                    LogRecord(
                        _name(LOG_LEVELS, level.value, "info"),
                        _name(LOG_SOURCES, source.value, "host"),
                        _text(message),
                    )
                )
        events: list[Event] = []
        n_events = int(api.mw_result_event_count(res))
        if n_events:
            payload = ctypes.c_char_p()
            for i in range(n_events):
                etype = api.mw_result_event(res, i, ctypes.byref(payload))
                events.append(Event(_text(etype), _text(payload.value)))
        outcome = _name(OUTCOMES, int(api.mw_result_outcome(res)), "trap")
        if outcome == "ok":
            items: list[OutputItem] = []
            length = ctypes.c_size_t()
            ref = ctypes.byref(length)
            string_at, item_bytes, item_binary = (
                ctypes.string_at,
                api.mw_result_item_json_bytes,
                api.mw_result_item_binary,
            )
            for i in range(int(api.mw_result_item_count(res))):
                raw = item_bytes(res, i, ref) or b""
                if len(raw) != length.value:  # the text holds a NUL: copy by length
                    raw = string_at(api.mw_result_item_json(res, i, ref), length.value)
                ptr = item_binary(res, i, ref)
                items.append(
                    OutputItem(
                        raw.decode("utf-8", "replace"),
                        string_at(ptr, length.value) if ptr else None,
                    )
                )
            return cls("ok", items=items, stats=stats, logs=logs, events=events)
        message = _text(api.mw_result_message(res))
        if outcome == "err":
            return cls("err", error=message, stats=stats, logs=logs, events=events)
        kind = _text(api.mw_trap_kind_name(int(api.mw_result_trap_kind(res))))
        return cls("trap", trap=TrapInfo(kind, message), stats=stats, logs=logs, events=events)

    @classmethod
    def from_json(cls, text: str) -> ExecutionResult:
        """Parses mw_result_to_json's document."""
        doc = json.loads(text)
        stats = ExecutionStats(**doc.get("stats", {}))
        logs = [LogRecord(**r) for r in doc.get("logs", [])]
        events = [Event(**e) for e in doc.get("events", [])]
        if "ok" in doc:
            items = [
                OutputItem(
                    i["json"], base64.b64decode(i["binary"]) if i.get("binary") is not None else None
                )
                for i in doc["ok"]
            ]
            return cls("ok", items=items, stats=stats, logs=logs, events=events)
        if "err" in doc:
            return cls("err", error=doc["err"], stats=stats, logs=logs, events=events)
        trap = TrapInfo(doc["trap"]["kind"], doc["trap"]["message"])
        return cls("trap", trap=trap, stats=stats, logs=logs, events=events)


def _name(names: tuple[str, ...], value: int, default: str) -> Any:
    return names[value] if 0 <= value < len(names) else default


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _item_dict(item: OutputItem) -> dict[str, Any]:
    d: dict[str, Any] = {"json": item.json}
    if item.binary is not None:
        d["binary"] = base64.b64encode(item.binary).decode("ascii")
    return d
