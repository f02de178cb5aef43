use marie::prelude::*;

// `pub` is missing.
fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<Item>, String> {
    Ok(input_items)
}
