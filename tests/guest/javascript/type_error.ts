import type { Item } from "marie";

export function execute(inputItems: Item[], config: unknown, context: unknown) {
  const count: number = inputItems.length;
  const label: string = count;
  return { ok: [label] };
}
