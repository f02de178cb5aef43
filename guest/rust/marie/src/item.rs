//! Items in and out, the execution context, and what `execute` may return.

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bindings::marie::node::types as wit;

/// One input or output item: a JSON value and optional binary data.
///
/// Input items arrive with `json` parsed. For output, `json` is serialised
/// back to JSON text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// The item's JSON value.
    pub json: Value,
    /// Binary data attached to the item, if any.
    pub binary: Option<Vec<u8>>,
}

impl Item {
    /// An item with this JSON value and no binary data:
    /// `Item::new(json!({"n": 1}))`.
    pub fn new(json: impl Into<Value>) -> Item {
        Item {
            json: json.into(),
            binary: None,
        }
    }

    /// An item holding any serialisable value (a struct that derives
    /// `Serialize`, a map, ...).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Item, serde_json::Error> {
        serde_json::to_value(value).map(Item::new)
    }

    /// The same item with this binary data attached.
    pub fn with_binary(mut self, binary: impl Into<Vec<u8>>) -> Item {
        self.binary = Some(binary.into());
        self
    }

    /// The JSON value converted to a type of yours (one that derives
    /// `Deserialize`): `let order: Order = item.parse()?;`
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.json)
    }
}

impl From<Value> for Item {
    fn from(json: Value) -> Item {
        Item::new(json)
    }
}

/// Where the node runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    /// The workflow the node belongs to.
    pub workflow_id: String,
    /// This execution of the workflow.
    pub execution_id: String,
    /// The node's id in the workflow.
    pub node_id: String,
    /// How often the node has run before in this execution (0 for the first run).
    pub run_index: u32,
}

/// What may be an element of the list `execute` returns: an [`Item`], or
/// any value that implements `Serialize` (a [`Value`], a `String`, a number,
/// your own struct...), which becomes an item without binary data.
pub trait IntoItem {
    /// Converts the value; `Err` says why it cannot be JSON.
    fn into_item(self) -> Result<Item, String>;
}

impl IntoItem for Item {
    fn into_item(self) -> Result<Item, String> {
        Ok(self)
    }
}

impl<T: Serialize> IntoItem for T {
    fn into_item(self) -> Result<Item, String> {
        serde_json::to_value(&self)
            .map(Item::new)
            .map_err(|e| e.to_string())
    }
}

/// What `execute` may return:
///
/// - `Result<Vec<T>, E>`: `Ok(items)` becomes the node's output, `Err(e)`
///   fails the node with the message `e.to_string()`;
/// - `Vec<T>`: always a success.
///
/// `T` is an [`Item`] or any serialisable value (see [`IntoItem`]); `E` is
/// anything that implements `Display`: `String`, `&str`,
/// `Box<dyn std::error::Error>`, [`HttpError`](crate::HttpError)...
#[diagnostic::on_unimplemented(
    message = "`execute` returns `{Self}`, which is not a node result",
    label = "this must be a `Result<Vec<Item>, String>` (or `Vec<T>` / `Result<Vec<T>, E>`)",
    note = "write: pub fn execute(input_items: Vec<Item>, config: Value, context: Context) -> Result<Vec<Item>, String>"
)]
pub trait IntoResponse {
    /// The items, or the error message.
    fn into_result(self) -> Result<Vec<Item>, String>;
}

impl<T: IntoItem, E: Display> IntoResponse for Result<Vec<T>, E> {
    fn into_result(self) -> Result<Vec<Item>, String> {
        match self {
            Ok(items) => items.into_result(),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl<T: IntoItem> IntoResponse for Vec<T> {
    fn into_result(self) -> Result<Vec<Item>, String> {
        self.into_iter()
            .enumerate()
            .map(|(i, value)| {
                value
                    .into_item()
                    .map_err(|e| format!("item {i}: cannot be serialised to JSON: {e}"))
            })
            .collect()
    }
}

// ---- conversions from and to the WIT records ---------------------------------

pub(crate) fn item_from_wit(index: usize, item: wit::Item) -> Result<Item, String> {
    let json = serde_json::from_str(&item.json)
        .map_err(|e| format!("input item {index}: 'json' is not valid JSON: {e}"))?;
    Ok(Item {
        json,
        binary: item.binary,
    })
}

pub(crate) fn item_to_wit(item: Item) -> wit::Item {
    wit::Item {
        json: item.json.to_string(),
        binary: item.binary,
    }
}

pub(crate) fn context_from_wit(ctx: wit::Context) -> Context {
    Context {
        workflow_id: ctx.workflow_id,
        execution_id: ctx.execution_id,
        node_id: ctx.node_id,
        run_index: ctx.run_index,
    }
}
