import { secrets } from "marie";

const key = secrets.get("API_KEY");

export function execute(inputItems, config, context) {
  return { ok: [key] };
}
