// execute exists but is not exported.
function execute(inputItems, config, context) {
  return { ok: [] };
}
