// Tries to read a host file at compile time through an import.
import shadow from "/etc/shadow";
export function execute(inputItems) {
  return { ok: [{ shadow }] };
}
