use marie::prelude::*;

pub fn run(input_items: Vec<Item>) -> Vec<Item> {
    input_items
}
