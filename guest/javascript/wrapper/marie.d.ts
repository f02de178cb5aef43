// Types for a marie node written in TypeScript (or JavaScript with an editor
// that reads .d.ts files): the `marie` capability module and the globals the
// engine (StarlingMonkey) provides to a node. compile.sh type-checks a .ts
// node against this file; copy it next to your node for editor support.
//
// Only what works in a node is declared: there is no DOM, no Node.js API,
// no Intl, no global fetch() (use http.fetch) and no file system.

declare module "marie" {
    /** One input or output item: JSON text plus optional binary data. */
    export interface Item {
        json: string;
        binary?: Uint8Array;
    }

    /** Where the node runs. */
    export interface Context {
        readonly workflowId: string;
        readonly executionId: string;
        readonly nodeId: string;
        readonly runIndex: number;
    }

    export type JsonValue =
        | null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

    /**
     * An output element: an item ({json, binary?}; json as JSON text or a
     * value to serialise) or any other value, which is JSON.stringify-ed.
     */
    export type OutputItem = unknown;

    export type Result =
        | { ok: OutputItem[] }
        | { success: OutputItem[] }
        | { err: string }
        | { error: string };

    /** The shape of `export function execute`. */
    export type Execute<Config = any> = (
        inputItems: Item[],
        config: Config,
        context: Context,
    ) => Result | Promise<Result>;

    export class HttpError extends Error {
        name: "HttpError";
    }

    export class KvError extends Error {
        name: "KvError";
    }

    export type HeadersInit =
        | Record<string, string | number>
        | Iterable<readonly [string, string]>;

    export interface FetchOptions {
        /** GET when omitted. */
        method?: string;
        headers?: HeadersInit;
        /** A string is sent as UTF-8. */
        body?: string | Uint8Array | ArrayBuffer | ArrayBufferView | null;
        /** Sent as JSON, with content-type application/json unless set. */
        json?: unknown;
    }

    export interface HttpResponse {
        readonly url: string;
        readonly status: number;
        /** status is 2xx */
        readonly ok: boolean;
        /** Lower-case names; repeated headers joined with ", ". */
        readonly headers: Readonly<Record<string, string>>;
        readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
        readonly body: Uint8Array;
        text(): string;
        json<T = any>(): T;
    }

    export const http: {
        /**
         * Synchronous HTTP request through the host. Throws HttpError when
         * the host refuses it (not allowed, host not in the allow-list) or
         * it fails; a 4xx/5xx status is a normal response.
         */
        fetch(url: string | { toString(): string }, options?: FetchOptions): HttpResponse;
    };

    export const secrets: {
        /** The secret, or undefined when missing or not allowed. */
        get(name: string): string | undefined;
    };

    export const kv: {
        /** The value, or undefined when missing (or KV is not allowed). */
        get(key: string): Uint8Array | undefined;
        /** get() decoded as UTF-8. */
        getText(key: string): string | undefined;
        /** Stores the value (a string as UTF-8); throws KvError when refused. */
        put(
            key: string,
            value: string | Uint8Array | ArrayBuffer | ArrayBufferView,
            options?: { ttlSeconds?: number },
        ): void;
        /** Throws KvError when refused. */
        delete(key: string): void;
    };

    /** Log records; arguments are joined with spaces, non-strings as JSON. */
    export const log: {
        debug(...args: unknown[]): void;
        info(...args: unknown[]): void;
        warn(...args: unknown[]): void;
        error(...args: unknown[]): void;
    };

    export const events: {
        /** A string payload as it is, anything else as JSON. */
        emit(type: string, payload?: unknown): void;
    };
}

// ---- globals of the engine ------------------------------------------------

interface Console {
    log(...data: any[]): void;
    info(...data: any[]): void;
    debug(...data: any[]): void;
    warn(...data: any[]): void;
    error(...data: any[]): void;
    trace(...data: any[]): void;
    assert(condition?: boolean, ...data: any[]): void;
}
declare var console: Console;

interface TextEncoder {
    readonly encoding: string;
    encode(input?: string): Uint8Array;
}
declare var TextEncoder: { prototype: TextEncoder; new (): TextEncoder };

interface TextDecoder {
    readonly encoding: string;
    decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
}
declare var TextDecoder: {
    prototype: TextDecoder;
    new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder;
};

declare function setTimeout(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): number;
declare function clearTimeout(id: number | undefined): void;
declare function setInterval(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): number;
declare function clearInterval(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T = any>(value: T): T;
declare function atob(data: string): string;
declare function btoa(data: string): string;

interface URLSearchParams {
    append(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    toString(): string;
    forEach(callback: (value: string, key: string, parent: URLSearchParams) => void): void;
    [Symbol.iterator](): IterableIterator<[string, string]>;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
}
declare var URLSearchParams: {
    prototype: URLSearchParams;
    new (init?: string[][] | Record<string, string> | string | URLSearchParams): URLSearchParams;
};

interface URL {
    hash: string;
    host: string;
    hostname: string;
    href: string;
    readonly origin: string;
    password: string;
    pathname: string;
    port: string;
    protocol: string;
    search: string;
    readonly searchParams: URLSearchParams;
    username: string;
    toString(): string;
    toJSON(): string;
}
declare var URL: { prototype: URL; new (url: string | URL, base?: string | URL): URL };

interface Crypto {
    getRandomValues<T extends ArrayBufferView | null>(array: T): T;
    randomUUID(): string;
}
declare var crypto: Crypto;

interface Performance {
    now(): number;
}
declare var performance: Performance;
