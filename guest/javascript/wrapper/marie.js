// The `marie` module a node imports: the host capabilities of the WIT world
// marie:node (http-client, secrets, kv, console, events) as small, plain
// JavaScript functions.
//
//   import { http, secrets, kv, log, events } from "marie";
//
// compile.sh's bundler resolves "marie" to this file. Every WIT call is
// synchronous, so these functions are too. A host `err` is thrown as an
// HttpError or KvError; a denied secret or a missing key is `undefined`.
// Capabilities work only while execute() runs: the module's top level is
// evaluated when the component is built, where no host exists.
import { fetch as hostFetch } from "marie:node/http-client@1.0.0";
import { get as hostSecretGet } from "marie:node/secrets@1.0.0";
import {
    get as hostKvGet,
    put as hostKvPut,
    delete as hostKvDelete,
} from "marie:node/kv@1.0.0";
import { log as hostLog } from "marie:node/console@1.0.0";
import { emit as hostEmit } from "marie:node/events@1.0.0";
import { inExecute } from "./state.js";

export class HttpError extends Error {
    constructor(message) {
        super(message);
        this.name = "HttpError";
    }
}

export class KvError extends Error {
    constructor(message) {
        super(message);
        this.name = "KvError";
    }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function requireExecute(what) {
    if (!inExecute()) {
        throw new Error(`${what} can only be called while execute() runs, not at the module's top level`);
    }
}

// A host err arrives as a thrown ComponentError whose payload is the string.
function hostMessage(e) {
    if (e && typeof e === "object" && typeof e.payload === "string") {
        return e.payload;
    }
    return e instanceof Error ? e.message : String(e);
}

function toBytes(value, what) {
    if (typeof value === "string") {
        return utf8Encoder.encode(value);
    }
    if (value instanceof Uint8Array) {
        return value;
    }
    if (value instanceof ArrayBuffer) {
        return new Uint8Array(value);
    }
    if (ArrayBuffer.isView(value)) {
        return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    throw new TypeError(`${what} must be a string or a Uint8Array, not ${describeType(value)}`
        + " (use JSON.stringify for objects)");
}

function describeType(value) {
    if (value === null) {
        return "null";
    }
    if (Array.isArray(value)) {
        return "an array";
    }
    return typeof value === "object" ? `a ${value.constructor?.name ?? "object"}` : `a ${typeof value}`;
}

// ---- http ----------------------------------------------------------------

function headerPairs(headers) {
    if (headers === undefined || headers === null) {
        return [];
    }
    const entries = typeof headers[Symbol.iterator] === "function"
        ? Array.from(headers)                   // [[name, value]], Map, Headers
        : Object.entries(headers);
    return entries.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2) {
            throw new TypeError("http.fetch: headers must be an object or a list of [name, value] pairs");
        }
        return [String(pair[0]), String(pair[1])];
    });
}

function hasHeader(pairs, name) {
    return pairs.some(([n]) => n.toLowerCase() === name);
}

class HttpResponse {
    constructor(url, raw) {
        this.url = url;
        this.status = raw.status;
        this.ok = raw.status >= 200 && raw.status < 300;
        this.rawHeaders = raw.headers.map(([n, v]) => [n, v]);
        const folded = {};
        for (const [name, value] of raw.headers) {
            const key = name.toLowerCase();
            folded[key] = key in folded ? `${folded[key]}, ${value}` : value;
        }
        this.headers = folded;
        this.body = raw.body;
    }

    text() {
        return utf8Decoder.decode(this.body);
    }

    json() {
        return JSON.parse(this.text());
    }
}

export const http = Object.freeze({
    // http.fetch(url, {method, headers, body, json}) -> HttpResponse
    // Throws HttpError when the host refuses or the request fails; a 4xx or
    // 5xx answer is a response (check .ok or .status), as with fetch().
    fetch(url, options = {}) {
        requireExecute("http.fetch");
        const method = String(options.method ?? "GET").toUpperCase();
        const headers = headerPairs(options.headers);
        let body;
        if (options.json !== undefined) {
            body = utf8Encoder.encode(JSON.stringify(options.json));
            if (!hasHeader(headers, "content-type")) {
                headers.push(["content-type", "application/json"]);
            }
        } else if (options.body !== undefined && options.body !== null) {
            body = toBytes(options.body, "http.fetch: body");
        }
        const target = String(url);
        let raw;
        try {
            raw = hostFetch({ method, url: target, headers, body });
        } catch (e) {
            throw new HttpError(hostMessage(e));
        }
        return new HttpResponse(target, raw);
    },
});

// ---- secrets -------------------------------------------------------------

export const secrets = Object.freeze({
    // The secret's value, or undefined when it does not exist or the node is
    // not allowed to read it.
    get(name) {
        requireExecute("secrets.get");
        return hostSecretGet(String(name)) ?? undefined;
    },
});

// ---- kv ------------------------------------------------------------------

export const kv = Object.freeze({
    // The value's bytes, or undefined when the key does not exist (or KV is
    // not allowed).
    get(key) {
        requireExecute("kv.get");
        return hostKvGet(String(key)) ?? undefined;
    },

    // get() decoded as UTF-8 text; undefined when absent.
    getText(key) {
        const bytes = kv.get(key);
        return bytes === undefined ? undefined : utf8Decoder.decode(bytes);
    },

    // put(key, value, {ttlSeconds}); a string value is stored as UTF-8.
    put(key, value, options = {}) {
        requireExecute("kv.put");
        const bytes = toBytes(value, "kv.put: value");
        const ttl = options.ttlSeconds;
        if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 0 && ttl <= 0xffffffff)) {
            throw new TypeError("kv.put: ttlSeconds must be a whole number of seconds (0 .. 4294967295)");
        }
        try {
            hostKvPut(String(key), bytes, ttl);
        } catch (e) {
            throw new KvError(hostMessage(e));
        }
    },

    delete(key) {
        requireExecute("kv.delete");
        try {
            hostKvDelete(String(key));
        } catch (e) {
            throw new KvError(hostMessage(e));
        }
    },
});

// ---- log -----------------------------------------------------------------

// Arguments are joined with spaces; strings as they are, anything else as
// JSON where possible (as console.log would show it).
export function formatArgs(args) {
    return args.map((a) => {
        if (typeof a === "string") {
            return a;
        }
        if (a instanceof Error) {
            return `${a.name}: ${a.message}`;
        }
        if (a === undefined || typeof a === "function" || typeof a === "symbol") {
            return String(a);
        }
        try {
            return JSON.stringify(a) ?? String(a);
        } catch {
            return String(a);
        }
    }).join(" ");
}

function logger(level) {
    return (...args) => {
        requireExecute(`log.${level}`);
        hostLog(level, formatArgs(args));
    };
}

export const log = Object.freeze({
    debug: logger("debug"),
    info: logger("info"),
    warn: logger("warn"),
    error: logger("error"),
});

// ---- events --------------------------------------------------------------

export const events = Object.freeze({
    // emit(type, payload): a string payload is sent as it is, any other
    // value as JSON (undefined as null).
    emit(type, payload) {
        requireExecute("events.emit");
        let text = payload;
        if (typeof payload !== "string") {
            text = JSON.stringify(payload === undefined ? null : payload);
            if (text === undefined) {
                throw new TypeError(`events.emit: payload ${describeType(payload)} cannot be converted to JSON`);
            }
        }
        hostEmit(String(type), text);
    },
});
