// The config type is not `pub`: the runtime cannot name it.
use std::error::Error;

use marie::prelude::*;

#[derive(Deserialize)]
struct Config {
    factor: i64,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct Input {
    n: i64,
}

#[derive(Serialize)]
struct Output {
    n: i64,
    scaled: i64,
    label: String,
    run: u32,
}

pub fn execute(input_items: Vec<Item>, config: Config, context: Context) -> Result<Vec<Output>, Box<dyn Error>> {
    let mut out = Vec::new();
    for item in &input_items {
        let input: Input = item.parse()?;
        out.push(Output {
            n: input.n,
            scaled: input.n.checked_mul(config.factor).ok_or("overflow")?,
            label: config.label.clone().unwrap_or_else(|| "none".into()),
            run: context.run_index,
        });
    }
    Ok(out)
}
