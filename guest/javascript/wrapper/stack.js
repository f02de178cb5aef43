// Turns a SpiderMonkey stack ("fn@bundle.js:LINE:COL" per line) into one
// that names the user's file and lines.
//
// The node runs as one esbuild bundle. build.mjs appends to that bundle a
// function declaration, __marie_source_map__(), that returns the bundle
// positions coming from the user's file:
//   { file: "node.ts", bundle: "marie-node.js",
//     lines: { "<bundle line>": [genCol, line, col, genCol, line, col, ...] },
//     renames: { "log2": "log" } }
// (0-based columns as in source maps, 1-based lines, genCol ascending;
// renames undo esbuild's renaming of the user's names that clash with the
// wrapper's, so that frames show the names of the user's source).
// A function declaration is hoisted, so the table exists before any module
// code runs. Frames outside the user's file (this wrapper, the generated
// bindings) are left out.

let table;

function sourceMap() {
    if (table === undefined) {
        // eslint-disable-next-line no-undef
        table = typeof __marie_source_map__ === "function" ? __marie_source_map__() : null;
    }
    return table;
}

export function userFileName() {
    return sourceMap()?.file ?? "node.js";
}

// The user's [line, col] (1-based) for a bundle position, or null.
export function mapPosition(line, col) {
    const map = sourceMap();
    const segs = map?.lines[String(line)];
    if (!segs || segs.length === 0) {
        return null;
    }
    const genCol = col - 1;                     // SpiderMonkey columns are 1-based
    let best = 0;
    for (let i = 0; i < segs.length; i += 3) {
        if (segs[i] > genCol) {
            break;
        }
        best = i;
    }
    return [segs[best + 1], segs[best + 2] + 1];
}

const FRAME = /^(.*)@(.*):(\d+):(\d+)$/;

// [{fn, line, col}] of the user's frames in a SpiderMonkey stack string.
export function userFrames(stack) {
    const map = sourceMap();
    const frames = [];
    if (typeof stack !== "string" || !map) {
        return frames;
    }
    for (const text of stack.split("\n")) {
        const m = FRAME.exec(text.trim());
        if (!m || m[2] !== map.bundle) {
            continue;
        }
        const pos = mapPosition(Number(m[3]), Number(m[4]));
        if (pos) {
            const fn = m[1].replace(/[A-Za-z_$][\w$]*/g,
                (id) => (Object.hasOwn(map.renames ?? {}, id) ? map.renames[id] : id));
            frames.push({ fn, line: pos[0], col: pos[1] });
        }
    }
    return frames;
}

export function describeError(e) {
    if (e instanceof Error || (e && typeof e === "object" && typeof e.message === "string")) {
        const name = typeof e.name === "string" && e.name ? e.name : "Error";
        return e.message ? `${name}: ${e.message}` : name;
    }
    if (e === "out of memory") {
        return "InternalError: out of memory";  // what SpiderMonkey throws then
    }
    let text;
    try {
        text = typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
    } catch {
        text = String(e);
    }
    return `Uncaught ${text}`;
}

const MAX_FRAMES = 40;

// "    at fn (node.ts:3:9)" per frame; a frame repeated (recursion) is shown
// once with a count, and a deep stack is cut.
function frameLines(frames, file) {
    const out = [];
    for (let i = 0; i < frames.length && out.length < MAX_FRAMES;) {
        const f = frames[i];
        let n = 1;
        while (i + n < frames.length && frames[i + n].fn === f.fn
            && frames[i + n].line === f.line && frames[i + n].col === f.col) {
            n += 1;
        }
        out.push(`    at ${f.fn || "<anonymous>"} (${file}:${f.line}:${f.col})`);
        if (n > 1) {
            out.push(`    ... the frame above repeated ${n - 1} more times`);
        }
        i += n;
        if (out.length >= MAX_FRAMES && i < frames.length) {
            out.push(`    ... ${frames.length - i} more frames`);
        }
    }
    return out;
}

// "TypeError: message\n    at fn (node.ts:3:9)\n..." and the causes.
export function formatError(e) {
    const file = userFileName();
    const lines = [];
    const seen = new Set();
    let current = e;
    for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
        if (typeof current === "object") {
            if (seen.has(current)) {
                break;
            }
            seen.add(current);
        }
        lines.push((depth === 0 ? "" : "Caused by: ") + describeError(current));
        const frames = userFrames(current && typeof current === "object" ? current.stack : undefined);
        lines.push(...frameLines(frames, file));
        current = current && typeof current === "object" ? current.cause : undefined;
    }
    return lines.join("\n");
}
