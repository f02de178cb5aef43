// The example from the product's README: wraps each input item.
export function execute(inputItems, config, context) {
  return { ok: inputItems.map(item => ({ json: JSON.stringify({ processed: JSON.parse(item.json) }) })) };
}
