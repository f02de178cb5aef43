import { readFileSync } from "node:fs";

export function execute(inputItems, config, context) {
  return { ok: [readFileSync("/etc/passwd", "utf8")] };
}
