// The README example in TypeScript, with the types from "marie".
import type { Context, Item, Result } from "marie";

interface Payload {
  n: number;
}

export function execute(inputItems: Item[], config: Record<string, unknown>, context: Context): Result {
  const out = inputItems.map((item) => {
    const data = JSON.parse(item.json) as Payload;
    return { json: JSON.stringify({ processed: data, doubled: data.n * 2, node: context.nodeId }) };
  });
  return { ok: out };
}
