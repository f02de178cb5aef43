// One node, many outcomes: config.mode picks what execute returns.
import { http, kv } from "marie";

class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}

function deep(n) {
  return deep(n + 1) + 1;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function execute(inputItems, config, context) {
  const mode = config?.mode;
  switch (mode) {
    case "values":
      return {
        ok: [
          new Point(1, 2),
          [1, "two", null],
          "plain string",
          42,
          { json: { as: "object" } },
          { json: "[true]", binary: new Uint8Array([1, 2]) },
          { json: "{}", binary: undefined },
          { json: "1", other: "key" },
          { json: "2", binary: new Uint16Array([258]).buffer },
        ],
      };
    case "echo_binary":
      return { ok: inputItems.map((it) => ({ json: it.json, binary: it.binary })) };
    case "success":
      return { success: [1] };
    case "error":
      return { error: "custom failure" };
    case "err_value":
      return { err: { code: 7 } };
    case "list":
      return [1, 2];
    case "none":
      return undefined;
    case "two_keys":
      return { ok: [], extra: 1 };
    case "ok_not_list":
      return { ok: "x" };
    case "nan":
      return { ok: [NaN] };
    case "bigint":
      return { ok: [1n] };
    case "bad_json":
      return { ok: [{ json: "not json" }] };
    case "bad_binary":
      return { ok: [{ json: "1", binary: "text" }] };
    case "http_uncaught":
      http.fetch("https://denied.example.com/");
      return { ok: [] };
    case "kv_denied":
      kv.put("k", "v");
      return { ok: [] };
    case "throw_string":
      throw "just a string";
    case "cause":
      try {
        JSON.parse("{");
      } catch (e) {
        throw new Error("could not read the payload", { cause: e });
      }
      return { ok: [] };
    case "global_fetch":
      fetch("https://api.example.com/");
      return { ok: [] };
    case "async":
      return (async () => {
        await null;
        await sleep(5);
        return { ok: [{ awaited: true }] };
      })();
    case "async_throw":
      return (async () => {
        await sleep(1);
        throw new RangeError("late failure");
      })();
    case "async_never":
      return new Promise(() => {});
    case "recursion":
      deep(0);
      return { ok: [] };
    case "memory": {
      const blocks = [];
      for (;;) {
        blocks.push(new Uint8Array(16 * 1024 * 1024).fill(1));
      }
    }
    case "loop":
      for (;;) {}
    case "config":
      return { ok: [config] };
    case "random":
      return { ok: [{ r: Math.random(), u: crypto.randomUUID(), t: Date.now() }] };
    case "renamed":
      log("thrown from a function named log");
      return { ok: [] };
    default:
      return { err: `unknown mode ${JSON.stringify(mode)}` };
  }
}

// The capability module has a `log` too: the bundle renames this one, the
// stack in the log must not.
function log(message) {
  throw new Error(message);
}
