use marie::prelude::*;

pub fn execute(input_items: Vec<Item>) -> Result<Vec<Item>, String> {
    Ok(input_items)
}
