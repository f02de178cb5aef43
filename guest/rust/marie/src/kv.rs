//! The key-value store (`allow_kv`); keys live under the node's
//! `kv_prefix`, which the host adds.

use std::fmt;

use crate::bindings::marie::node::kv as wit;

/// The value's bytes, or `None` when the key does not exist (or KV is not
/// allowed).
pub fn get(key: &str) -> Option<Vec<u8>> {
    wit::get(key)
}

/// [`get`] as text (invalid UTF-8 is replaced by U+FFFD).
pub fn get_string(key: &str) -> Option<String> {
    get(key).map(|bytes| match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Stores the value (a `&str` or `String` as UTF-8) without expiry.
pub fn put(key: &str, value: impl AsRef<[u8]>) -> Result<(), KvError> {
    wit::put(key, value.as_ref(), None).map_err(|message| KvError { message })
}

/// Stores the value; it expires after `ttl_seconds`.
pub fn put_with_ttl(key: &str, value: impl AsRef<[u8]>, ttl_seconds: u32) -> Result<(), KvError> {
    wit::put(key, value.as_ref(), Some(ttl_seconds)).map_err(|message| KvError { message })
}

/// Removes the key (no error when it does not exist).
pub fn delete(key: &str) -> Result<(), KvError> {
    wit::delete(key).map_err(|message| KvError { message })
}

/// The host refused a `put` or `delete` (KV not allowed, a limit) or it
/// failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError {
    message: String,
}

impl KvError {
    /// Why the call failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KvError: {}", self.message)
    }
}

impl std::error::Error for KvError {}

/// So that `?` works in an `execute` that returns `Result<_, String>`.
impl From<KvError> for String {
    fn from(e: KvError) -> String {
        e.to_string()
    }
}
