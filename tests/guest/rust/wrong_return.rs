use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> usize {
    input_items.len()
}
