// Throws from TypeScript code; type annotations shift columns, not lines.
import type { Item } from "marie";

class ValidationError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = "ValidationError";
  }
}

function check(item: Item): number {
  const data: { n?: number } = JSON.parse(item.json);
  if (data.n === undefined || data.n > 1) {
    throw new ValidationError(`n is too large: ${data.n}`, "n");
  }
  return data.n;
}

export function execute(inputItems: Item[], config: unknown, context: unknown) {
  return { ok: inputItems.map(check) };
}
