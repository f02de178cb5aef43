// One node, many outcomes: config.mode picks what execute does.
use std::collections::BTreeMap;

use marie::prelude::*;

fn deep(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    deep(n + 1).wrapping_add(std::hint::black_box(1))
}

pub fn execute(input_items: Vec<Item>, config: Value, _context: Context) -> Result<Vec<Item>, String> {
    let mode = config["mode"].as_str().unwrap_or("none");
    match mode {
        "values" => Ok(vec![
            Item::new(json!({"x": 1, "y": 2})),
            Item::new(json!([1, "two", null])),
            Item::new("plain string"),
            Item::new(42),
            Item::new(json!(true)).with_binary(vec![1u8, 2]),
            Item::from_serialize(&BTreeMap::from([("k", 1.5)])).map_err(|e| e.to_string())?,
        ]),
        "echo" => Ok(input_items),
        "error" => Err("custom failure".to_string()),
        "http_uncaught" => {
            http::fetch("https://denied.example.com/")?;
            Ok(vec![])
        }
        "kv_denied" => {
            kv::put("k", "v")?;
            Ok(vec![])
        }
        "panic" => panic!("boom: {}", input_items.len()),
        "unwrap" => {
            let missing: Option<u32> = None;
            Ok(vec![Item::new(missing.unwrap())])
        }
        "index" => Ok(vec![input_items[7].clone()]),
        "recursion" => Ok(vec![Item::new(deep(0))]),
        "memory" => {
            let mut blocks = Vec::new();
            loop {
                blocks.push(vec![1u8; 1 << 20]);
                if blocks.len() == usize::MAX {
                    return Ok(vec![]);
                }
            }
        }
        "loop" => loop {
            std::hint::black_box(0);
        },
        other => Err(format!("unknown mode {other}")),
    }
}
