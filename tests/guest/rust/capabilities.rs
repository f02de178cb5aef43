// Uses every host capability; run with perms.json and secrets.json.
use marie::prelude::*;

pub fn execute(input_items: Vec<Item>, config: Value, context: Context) -> Result<Vec<Item>, String> {
    let mut out = serde_json::Map::new();
    out.insert("secret_allowed".into(), json!(secrets::get("API_KEY")));
    out.insert("secret_denied".into(), json!(secrets::get("DB_PASSWORD")));

    kv::put_with_ttl("counter", "41", 60)?;
    kv::put("blob", [0u8, 1, 255])?;
    out.insert("kv_text".into(), json!(kv::get_string("counter")));
    out.insert("kv_blob".into(), json!(kv::get("blob")));
    kv::delete("counter")?;
    out.insert("kv_after_delete".into(), json!(kv::get("counter")));

    log::debug("debug line");
    log::info(format_args!("info line {}", json!({"n": 1})));
    log::warn("warn line");
    log::error("error line");
    println!("stdout line from {}", context.node_id);
    eprintln!("stderr line");

    events::emit("node.done", json!({ "items": input_items.len() }));
    events::emit("node.note", "plain text payload");

    let denied = http::Request::get("https://denied.example.com/data")
        .header("Accept", "application/json")
        .send();
    out.insert(
        "http".into(),
        json!(match denied {
            Ok(res) => format!("not denied: {}", res.status),
            Err(e) => e.to_string(),
        }),
    );
    out.insert("http_post".into(), json!(match http::Request::post("http://127.0.0.1:9/x").json(&json!({"a": 1})).send() {
        Ok(res) => format!("not denied: {}", res.status),
        Err(e) => e.message().to_string(),
    }));

    out.insert("config".into(), config);
    out.insert("context".into(), json!(context));
    out.insert(
        "binary_in".into(),
        json!(input_items.iter().map(|item| item.binary.clone()).collect::<Vec<_>>()),
    );
    Ok(vec![
        Item::new(Value::Object(out)),
        Item::new(json!({ "has_binary": true })).with_binary("abc"),
    ])
}
