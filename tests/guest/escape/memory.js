// Exhausts memory at compile time.
const blocks = [];
for (;;) blocks.push(new Uint8Array(64 * 1024 * 1024));
export function execute(inputItems) {
  return { ok: [] };
}
