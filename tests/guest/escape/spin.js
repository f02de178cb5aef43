// Never finishes loading (the top level runs at compile time).
for (;;) {}
export function execute(inputItems) {
  return { ok: [] };
}
