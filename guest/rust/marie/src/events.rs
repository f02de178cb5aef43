//! Events for the workflow: `events::emit("order.created", json!({"id": 7}))`.

use serde::Serialize;
use serde_json::Value;

use crate::bindings::marie::node::events as wit;

/// Emits an event. A string payload (`&str`, `String`, or a `Value` that is
/// a string) is sent as it is; any other payload as JSON text. A payload
/// that cannot be serialised is not sent; a warning is logged instead.
pub fn emit(event_type: &str, payload: impl Serialize) {
    match serde_json::to_value(&payload) {
        Ok(Value::String(text)) => wit::emit(event_type, &text),
        Ok(value) => wit::emit(event_type, &value.to_string()),
        Err(e) => crate::log::warn(format_args!(
            "events::emit({event_type:?}): the payload cannot be serialised to JSON: {e}"
        )),
    }
}
