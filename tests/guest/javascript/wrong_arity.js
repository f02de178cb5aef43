export function execute(inputItems, config, context, extra) {
  return { ok: [] };
}
