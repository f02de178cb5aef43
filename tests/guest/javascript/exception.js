// Throws from a nested function: err + a stack with this file's lines.
function parse(item) {
  const data = JSON.parse(item.json);
  return data.missing.field;
}

export function execute(inputItems, config, context) {
  return { ok: inputItems.map(parse) };
}
