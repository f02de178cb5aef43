//! Secrets (`allow_secrets`, `secret_allowed_names`).
//!
//! A secret's value is replaced by `[REDACTED]` wherever it shows up in the
//! node's logs and events.

use crate::bindings::marie::node::secrets as wit;

/// The secret's value, or `None` when it does not exist or the node may not
/// read it (the host logs the refusal).
pub fn get(name: &str) -> Option<String> {
    wit::get(name)
}
