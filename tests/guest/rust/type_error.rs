use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<Item>, String> {
    let count: u32 = "three";
    Ok(input_items)
}
