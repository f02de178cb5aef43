"""Emit an event: events.emit("order.created", {"id": 7}).

A str payload is sent as it is; anything else is serialised with
json.dumps. Events over the per-execution cap are counted, not kept.
"""
import json

from wit_world.imports import events as _events

from marie.errors import require_host


def emit(event_type, payload=None):
    require_host("marie.events.emit")
    if not isinstance(event_type, str):
        raise TypeError(
            f"event type must be a str, not {type(event_type).__name__}")
    if not isinstance(payload, str):
        payload = json.dumps(payload, allow_nan=False)
    _events.emit(event_type, payload)
