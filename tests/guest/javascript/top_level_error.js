const table = { a: 1 };

const derived = table.b.c;

export function execute(inputItems, config, context) {
  return { ok: [derived] };
}
