// A value serde_json cannot serialise (a map with non-string keys) becomes err.
use std::collections::HashMap;

use marie::prelude::*;

pub fn execute(_input_items: Vec<Item>, _config: Value, _context: Context) -> Result<Vec<HashMap<(u8, u8), u8>>, String> {
    Ok(vec![HashMap::new(), HashMap::from([((1, 2), 3)])])
}
