// Greets each item by name and counts visits in the node's key-value store.
// Without allow_kv the put is refused by the host (KvError) and the node says so.
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<Value>, String> {
    let seen: u64 = kv::get_string("visits").and_then(|s| s.parse().ok()).unwrap_or(0);
    let total = seen + input_items.len() as u64;
    kv::put("visits", total.to_string()).map_err(|e| format!("cannot count visits: {}", e.message()))?;
    log::info(format!("greeted {} items, {total} so far", input_items.len()));
    Ok(input_items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let name = item.json["name"].as_str().unwrap_or("stranger");
            json!({ "greeting": format!("Hello, {name}!"), "lang": "rust", "visits": seen + n as u64 + 1 })
        })
        .collect())
}
