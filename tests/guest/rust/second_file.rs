mod helpers;

use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Vec<Item> {
    input_items
}
