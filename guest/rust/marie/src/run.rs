//! The WIT export `execute`: converts the records, calls the user's
//! function, converts its result.

use std::sync::Once;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::marie::node::console::{self, LogLevel};
use crate::bindings::marie::node::types as wit;
use crate::item::{context_from_wit, item_from_wit, item_to_wit};
use crate::{Context, IntoResponse, Item};

/// Called by the node's crate root with the user's `execute`.
///
/// A panic cannot become `err`: nodes are built with `panic = "abort"` (the
/// runtime does not enable WebAssembly exception handling, so nothing can
/// unwind), and an abort traps the instance. The panic hook installed here
/// first logs the panic's message and location at error level, so that the
/// trap comes with the reason.
pub fn run<F, C, R>(
    input: Vec<wit::Item>,
    env: wit::Env,
    ctx: wit::Context,
    execute: F,
) -> wit::Response
where
    F: Execute<C, R>,
    C: DeserializeOwned,
    R: IntoResponse,
{
    install_panic_hook();
    let (items, config) = match prepare(input, &env.vars) {
        Ok(prepared) => prepared,
        Err(message) => return wit::Response::Err(message),
    };
    let config = match C::deserialize(config) {
        Ok(config) => config,
        Err(e) => {
            return wit::Response::Err(format!("config does not fit execute's config type: {e}"))
        }
    };
    match execute
        .call(items, config, context_from_wit(ctx))
        .into_result()
    {
        Ok(items) => wit::Response::Ok(items.into_iter().map(item_to_wit).collect()),
        Err(message) => wit::Response::Err(message),
    }
}

/// The shape of the user's `execute`: a function of (items, config,
/// context); its errors name the user's function.
#[diagnostic::on_unimplemented(
    message = "`execute` must be a function, not `{Self}`",
    label = "here"
)]
pub trait Execute<C, R> {
    /// Calls it.
    fn call(self, items: Vec<Item>, config: C, context: Context) -> R;
}

impl<F, C, R> Execute<C, R> for F
where
    F: FnOnce(Vec<Item>, C, Context) -> R,
{
    fn call(self, items: Vec<Item>, config: C, context: Context) -> R {
        self(items, config, context)
    }
}

fn prepare(input: Vec<wit::Item>, vars: &str) -> Result<(Vec<Item>, Value), String> {
    let config = if vars.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(vars).map_err(|e| format!("config is not valid JSON: {e}"))?
    };
    let items = input
        .into_iter()
        .enumerate()
        .map(|(i, item)| item_from_wit(i, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, config))
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload_as_str()
                .unwrap_or("(a panic payload that is not a string)");
            let text = match info.location() {
                Some(at) => format!(
                    "panicked at {}:{}:{}: {}",
                    at.file(),
                    at.line(),
                    at.column(),
                    message
                ),
                None => format!("panicked: {message}"),
            };
            console::log(LogLevel::Error, &text);
        }));
    });
}
