//! Log records at the level of your choice: `log::info("text")`,
//! `log::warn(format!("{n} rows skipped"))`.
//!
//! `println!` and `eprintln!` work too: the runtime keeps the node's stdout
//! (level info) and stderr (level warn) as log records.

use std::fmt::Display;

use crate::bindings::marie::node::console::{self as wit, LogLevel};

fn write(level: LogLevel, message: impl Display) {
    wit::log(level, &message.to_string());
}

/// A record at level debug.
pub fn debug(message: impl Display) {
    write(LogLevel::Debug, message);
}

/// A record at level info.
pub fn info(message: impl Display) {
    write(LogLevel::Info, message);
}

/// A record at level warn.
pub fn warn(message: impl Display) {
    write(LogLevel::Warn, message);
}

/// A record at level error.
pub fn error(message: impl Display) {
    write(LogLevel::Error, message);
}
