// Uses every host capability; run with perms.json and secrets.json.
import { http, secrets, kv, log, events, HttpError } from "marie";

export function execute(inputItems, config, context) {
  const out = {
    secret_allowed: secrets.get("API_KEY"),
    secret_denied: secrets.get("DB_PASSWORD") ?? null,
  };

  kv.put("counter", "41", { ttlSeconds: 60 });
  kv.put("blob", new Uint8Array([0, 1, 255]));
  out.kv_text = kv.getText("counter");
  out.kv_blob = Array.from(kv.get("blob"));
  kv.delete("counter");
  out.kv_after_delete = kv.get("counter") ?? null;

  log.debug("debug line");
  log.info("info line", { n: 1 });
  log.warn("warn line");
  log.error("error line");
  console.log("console line from", context.nodeId);
  console.error("console error line");
  console.warn("console warn line");
  console.info("console info line");

  events.emit("node.done", { items: inputItems.length });
  events.emit("node.note", "plain text payload");

  try {
    http.fetch("https://denied.example.com/data", { headers: { Accept: "application/json" } });
    out.http = "not denied";
  } catch (e) {
    out.http = `${e.name}: ${e.message}`;
    out.http_is_HttpError = e instanceof HttpError;
  }

  out.config = config;
  out.context = context;
  out.binary_in = inputItems.map((it) => (it.binary ? Array.from(it.binary) : null));
  return { ok: [out, { json: JSON.stringify({ has_binary: true }), binary: new TextEncoder().encode("abc") }] };
}
