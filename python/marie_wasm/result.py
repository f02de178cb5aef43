"""The values going into and coming out of an execution.

ExecutionResult is built from the library's own result document
(mw_result_to_json with stats, logs and events), so every field means
exactly what it means for the CLI and the HTTP service.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal


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


def _item_dict(item: OutputItem) -> dict[str, Any]:
    d: dict[str, Any] = {"json": item.json}
    if item.binary is not None:
        d["binary"] = base64.b64encode(item.binary).decode("ascii")
    return d
