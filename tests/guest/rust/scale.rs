// The example of the README (and a template for `marie-wasm new`): scales
// each item's n by config.factor.
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, config: Value, context: Context) -> Result<Vec<Value>, String> {
    let factor = config["factor"].as_i64().unwrap_or(2);
    let mut out = Vec::new();
    for item in &input_items {
        let n = item.json["n"].as_i64().ok_or("item has no integer n")?;
        out.push(json!({ "n": n, "scaled": n * factor }));
    }
    log::info(format!("scaled {} items for run {}", out.len(), context.run_index));
    Ok(out)
}
