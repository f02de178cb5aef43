// The example from the README: wraps each input item.
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, context: Context) -> Result<Vec<Item>, String> {
    log::info(format!("{} items for {}", input_items.len(), context.node_id));
    Ok(input_items
        .into_iter()
        .map(|item| Item::new(json!({ "processed": item.json })))
        .collect())
}
