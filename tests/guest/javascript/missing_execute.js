export function run(inputItems, config, context) {
  return { ok: [] };
}
