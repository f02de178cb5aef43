export function execute(inputItems, config, context) {
  const x = {
    a: 1,
    b: 2
  return { ok: [] };
}
