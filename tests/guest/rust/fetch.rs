// HTTP through the host against a local test server: config.base is its URL.
use marie::http::{self, Request};
use marie::prelude::*;

pub fn execute(_input_items: Vec<Item>, config: Value, _context: Context) -> Result<Vec<Value>, String> {
    let base = config["base"].as_str().ok_or("config.base is missing")?;
    let res = http::fetch(format!("{base}/data.json"))?;
    let data: Value = res.json().map_err(|e| format!("bad JSON: {e}"))?;
    let posted = Request::post(format!("{base}/data.json"))
        .header("x-test", "1")
        .json(&json!({"id": 7}))
        .send()?;
    let missing = Request::get(format!("{base}/missing")).send()?;
    Ok(vec![json!({
        "status": res.status,
        "ok": res.is_success(),
        "content_type": res.header("Content-Type"),
        "data": data,
        "text_len": res.text().len(),
        "post_status": posted.status,
        "missing_status": missing.status,
        "missing_ok": missing.is_success(),
    })])
}
