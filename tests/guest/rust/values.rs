// execute may return a Vec of plain serialisable values, no Result.
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, _config: Value, _context: Context) -> Vec<Value> {
    let mut out: Vec<Value> = input_items.into_iter().map(|item| item.json).collect();
    out.push(json!(f64::NAN));
    out.push(json!("text"));
    out
}
