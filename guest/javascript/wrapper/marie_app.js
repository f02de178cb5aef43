// The component's entry module: implements the WIT export
//   execute(input: list<item>, env: env, ctx: context) -> response
// on top of the user's `export function execute(inputItems, config, context)`.
//
// build.mjs bundles this file with the user's module (imported as
// "marie-user-node") and the `marie` capability module into one ES module;
// componentize-js evaluates it at build time, under wizer, and snapshots the
// engine. So the checks at the bottom of this file run when the node is
// compiled; a problem is thrown as "MARIE-COMPILE-ERROR LINE:COL: message",
// which compile.sh prints as "USER_FILE:LINE:COL: message".
//
// Run time: the WIT records become plain objects, the user's function runs,
// its result becomes a response. An exception becomes err("Name: message")
// and its stack, with the user's file and lines, is logged at error level.
// Nothing may escape execute(): componentize-js would trap the instance.
import * as user from "marie-user-node";
import { log as hostLog } from "marie:node/console@1.0.0";
import { enterExecute, leaveExecute } from "./state.js";
import { describeError, formatError } from "./stack.js";

const DIAG_MARKER = "MARIE-COMPILE-ERROR ";
const WANTED = "export function execute(inputItems, config, context) { ... }";
// Where the user's execute is declared, found by build.mjs ("LINE:COL").
// eslint-disable-next-line no-undef
const EXECUTE_POS = typeof MARIE_EXECUTE_POS === "string" ? MARIE_EXECUTE_POS : "1:1";

function compileError(pos, message) {
    return new Error(`${DIAG_MARKER}${pos}: ${message}`);
}

// ---- build time: is there a usable execute? -----------------------------

const userExecute = user.execute;
if (typeof userExecute !== "function") {
    const what = userExecute === undefined ? "not exported" : `a ${typeof userExecute}, not a function`;
    throw compileError(EXECUTE_POS, `'execute' is ${what}; write: ${WANTED}`);
}
if (userExecute.length > 3) {
    throw compileError(EXECUTE_POS,
        `execute takes ${userExecute.length} parameters, but it is called with 3 `
        + "(inputItems, config, context)");
}

// There is no wasi:http in a node: the engine's fetch() could only fail.
globalThis.fetch = function fetch() {
    throw new TypeError("fetch() is not available in a node; use http.fetch from \"marie\"");
};

// ---- run time -----------------------------------------------------------

class BadResult extends Error {}

function kind(value) {
    if (value === null) {
        return "null";
    }
    if (value === undefined) {
        return "undefined";
    }
    if (Array.isArray(value)) {
        return "an array";
    }
    if (typeof value === "object") {
        const keys = Object.keys(value);
        return keys.length ? `an object with keys ${JSON.stringify(keys)}` : "an empty object";
    }
    return `a ${typeof value}`;
}

function toJson(index, value, what) {
    let text;
    try {
        text = JSON.stringify(value);
    } catch (e) {
        throw new BadResult(`item ${index}: ${what} cannot be converted to JSON: ${describeError(e)}`);
    }
    if (text === undefined) {
        throw new BadResult(`item ${index}: ${what} (${kind(value)}) cannot be converted to JSON`);
    }
    return text;
}

function toBinary(index, binary) {
    if (binary === undefined || binary === null) {
        return undefined;
    }
    if (binary instanceof Uint8Array) {
        return binary;
    }
    if (binary instanceof ArrayBuffer) {
        return new Uint8Array(binary);
    }
    if (ArrayBuffer.isView(binary)) {
        return new Uint8Array(binary.buffer, binary.byteOffset, binary.byteLength);
    }
    throw new BadResult(`item ${index}: 'binary' must be a Uint8Array or undefined, not ${kind(binary)}`);
}

// An item ({json, binary?}) or any JSON value.
function toItem(value, index) {
    const isItem = value !== null && typeof value === "object" && !Array.isArray(value)
        && Object.hasOwn(value, "json")
        && Object.keys(value).every((k) => k === "json" || k === "binary");
    if (!isItem) {
        return { json: toJson(index, value, kind(value)), binary: undefined };
    }
    let text = value.json;
    if (typeof text === "string") {
        try {
            JSON.parse(text);
        } catch (e) {
            throw new BadResult(`item ${index}: 'json' is not valid JSON text (${e.message}); `
                + "give a JSON string or a value to serialise");
        }
    } else {
        text = toJson(index, text, "'json'");
    }
    return { json: text, binary: toBinary(index, value.binary) };
}

function toResponse(result) {
    const shape = "execute must return {ok: [items]} or {err: \"message\"}";
    const keys = result !== null && typeof result === "object" && !Array.isArray(result)
        ? Object.keys(result) : [];
    if (keys.length !== 1) {
        const hint = Array.isArray(result) ? " (wrap the array: return {ok: [...]})" : "";
        throw new BadResult(`${shape}, got ${kind(result)}${hint}`);
    }
    const key = keys[0];
    const value = result[key];
    if (key === "err" || key === "error") {
        return { tag: "err", val: typeof value === "string" ? value : describeValue(value) };
    }
    if (key !== "ok" && key !== "success") {
        throw new BadResult(`${shape}, got ${kind(result)}`);
    }
    if (!Array.isArray(value)) {
        throw new BadResult(`the '${key}' value must be an array of items, got ${kind(value)}`);
    }
    return { tag: "ok", val: value.map(toItem) };
}

function describeValue(value) {
    if (value instanceof Error) {
        return describeError(value);
    }
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return String(value);
    }
}

function config(vars) {
    if (vars.trim() === "") {
        return {};
    }
    return JSON.parse(vars);
}

function failed(e) {
    try {
        hostLog("error", formatError(e));
    } catch {
        // The log is best effort; the err response carries the message.
    }
    return { tag: "err", val: describeError(e) };
}

function finish(result) {
    try {
        return toResponse(result);
    } catch (e) {
        if (e instanceof BadResult) {
            return { tag: "err", val: e.message };
        }
        throw e;
    }
}

function run(input, env, ctx) {
    const items = input.map((it) => ({ json: it.json, binary: it.binary }));
    let cfg;
    try {
        cfg = config(env.vars);
    } catch (e) {
        return { tag: "err", val: `config is not valid JSON: ${e.message}` };
    }
    const context = Object.freeze({
        workflowId: ctx.workflowId,
        executionId: ctx.executionId,
        nodeId: ctx.nodeId,
        runIndex: ctx.runIndex,
    });
    let result;
    enterExecute();
    try {
        result = userExecute(items, cfg, context);
    } catch (e) {
        leaveExecute();
        return failed(e);
    }
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
        // An async execute: componentize-js runs the event loop until the
        // promise returned from the export settles.
        return Promise.resolve(result).then(
            (value) => { leaveExecute(); return finish(value); },
            (e) => { leaveExecute(); return failed(e); },
        ).catch((e) => ({ tag: "err", val: `JavaScript node wrapper failed: ${describeError(e)}` }));
    }
    leaveExecute();
    return finish(result);
}

export function execute(input, env, ctx) {
    try {
        return run(input, env, ctx);
    } catch (e) {
        return { tag: "err", val: `JavaScript node wrapper failed: ${describeError(e)}` };
    }
}
