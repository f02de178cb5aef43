use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<Item>, String> {
    let total = input_items.len() +;
    Ok(input_items)
}
