// Greets each item by name and counts visits in the node's key-value store.
// Without allow_kv the put is refused by the host (KvError) and the node says so.
import { kv, log, KvError } from "marie";

export function execute(inputItems, config, context) {
  const seen = Number(kv.getText("visits") ?? "0");
  try {
    kv.put("visits", String(seen + inputItems.length));
  } catch (e) {
    if (e instanceof KvError) return { err: `cannot count visits: ${e.message}` };
    throw e;
  }
  log.info(`greeted ${inputItems.length} items, ${seen + inputItems.length} so far`);
  return {
    ok: inputItems.map((item, n) => ({
      greeting: `Hello, ${JSON.parse(item.json).name}!`, lang: "javascript", visits: seen + n + 1,
    })),
  };
}
