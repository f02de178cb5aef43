"""The values going into and coming out of an execution.

ExecutionResult is read from the library's result (mw_result_t) in one
buffer (mw_result_pack): the same values mw_result_to_json writes for the
CLI and the HTTP service (from_json parses that document), so every field
means exactly what it means there. One foreign call and a struct parse
cost a fraction of a call per field, and of a JSON round trip
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

import base64
import ctypes
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ._lib import LOG_LEVELS, LOG_SOURCES, OUTCOMES, PACKED_NONE, lib

# mw_result_pack's layout (execute.h): the head (outcome, trap kind, nine
# u64 stats, four counts/lengths), then (u32, u32) and (u32, u32, u32)
# records, all little-endian.
_HEAD = struct.Struct("<II9QIIII")
_PAIR = struct.Struct("<II")
_TRIPLE = struct.Struct("<III")


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
        """Reads an mw_result_t (borrowed; the caller frees it) in one
        foreign call (mw_result_pack)."""
        api = lib()
        size = ctypes.c_size_t()
        buf = api.mw_result_pack(res, ctypes.byref(size))
        if not buf:
            raise MemoryError("libmariewasm: out of memory")
        try:
            data = ctypes.string_at(buf, size.value)
        finally:
            api.free(buf)
        return cls.from_packed(data)

    @classmethod
    def from_packed(cls, data: bytes) -> ExecutionResult:
        """Parses mw_result_pack's buffer (layout in execute.h)."""
        (
            code,
            trap_kind,
            fuel,
            wall_us,
            mem,
            calls,
            denied,
            b_in,
            b_out,
            logs_dropped,
            events_dropped,
            n_items,
            n_logs,
            n_events,
            msg_len,
        ) = _HEAD.unpack_from(data)
        off = _HEAD.size
        message = data[off : off + msg_len].decode("utf-8", "replace")
        off += msg_len
        stats = _frozen(
            ExecutionStats,
            {
                "fuel_used": fuel,
                "wall_time_ms": wall_us / 1000.0,
                "memory_peak_bytes": mem,
                "host_calls": calls,
                "denied_calls": denied,
                "bytes_in": b_in,
                "bytes_out": b_out,
                "logs_dropped": logs_dropped,
                "events_dropped": events_dropped,
            },
        )
        pair = _PAIR.unpack_from
        items: list[OutputItem] = []
        new = object.__new__
        for _ in range(n_items):
            jlen, blen = pair(data, off)
            off += 8
            text = data[off : off + jlen].decode("utf-8", "replace")
            off += jlen
            binary = None
            if blen != PACKED_NONE:
                binary = data[off : off + blen]
                off += blen
            item = new(OutputItem)
            item.__dict__.update(json=text, binary=binary)
            items.append(item)
        logs: list[LogRecord] = []
        for _ in range(n_logs):
            level, source, n = _TRIPLE.unpack_from(data, off)
            off += 12
            text = data[off : off + n].decode("utf-8", "replace")
            off += n
            logs.append(LogRecord(_name(LOG_LEVELS, level, "info"), _name(LOG_SOURCES, source, "host"), text))
        events: list[Event] = []
        for _ in range(n_events):
            tlen, plen = pair(data, off)
            off += 8
            etype = data[off : off + tlen].decode("utf-8", "replace")
            off += tlen
            events.append(Event(etype, data[off : off + plen].decode("utf-8", "replace")))
            off += plen
        outcome = _name(OUTCOMES, code, "trap")
        return _frozen(
            cls,
            {
                "outcome": outcome,
                "items": items,
                "error": message if outcome == "err" else None,
                "trap": TrapInfo(_trap_name(trap_kind), message) if outcome == "trap" else None,
                "stats": stats,
                "logs": logs,
                "events": events,
            },
        )

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


_T = TypeVar("_T")


def _frozen(cls: type[_T], fields: dict[str, Any]) -> _T:
    """A frozen dataclass instance made from all of its fields at once: what
    its __init__ does one object.__setattr__ at a time, at a third of the
    cost (many results per second are read this way)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def _name(names: tuple[str, ...], value: int, default: str) -> Any:
    return names[value] if 0 <= value < len(names) else default


_trap_names: dict[int, str] = {}


def _trap_name(kind: int) -> str:
    """The library's name of a trap kind (mw_trap_kind_name), memoized."""
    name = _trap_names.get(kind)
    if name is None:
        raw = lib().mw_trap_kind_name(kind)
        name = _trap_names[kind] = raw.decode("ascii") if raw else "guest_trap"
    return name


def _item_dict(item: OutputItem) -> dict[str, Any]:
    d: dict[str, Any] = {"json": item.json}
    if item.binary is not None:
        d["binary"] = base64.b64encode(item.binary).decode("ascii")
    return d
