use marie::prelude::*;

/// Takes the items as strings: not what the runtime passes.
pub fn execute(input_items: Vec<String>, _config: Value, _context: Context) -> Result<Vec<Item>, String> {
    Ok(input_items.into_iter().map(Item::new).collect())
}
