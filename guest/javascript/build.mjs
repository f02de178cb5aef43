// Build-time helper of compile.sh (runs on the host's Node.js; never runs
// the user's code).
//
//   node build.mjs bundle   --toolchain DIR --work DIR --user FILE --shown NAME
//   node build.mjs diagnose --work DIR --shown NAME --log FILE
//
// bundle: copies the user's file and the wrapper into WORK/src, checks the
// user's file (esbuild: syntax and imports; tsc: types, for .ts; the
// `execute` export), bundles wrapper + user code into one ES module
// WORK/bundle/marie-node.js for `jco componentize`, and appends to it the
// table that maps bundle positions back to the user's lines (see
// wrapper/stack.js).
//
// diagnose: reads the output of a failed `jco componentize` and, when the
// failure is the user's (a check in the wrapper, an exception while the
// module's top level ran at build time), prints it as one diagnostic.
//
// Diagnostics go to stderr as "NAME:LINE:COL: message" (NAME is the user's
// file as given to compile.sh). Exit status: 0 ok, 1 the user's code is
// wrong, 2 not the user's problem (diagnose found nothing), 70 internal.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WRAPPER_DIR = join(dirname(fileURLToPath(import.meta.url)), "wrapper");
const WRAPPER_FILES = ["marie_app.js", "marie.js", "state.js", "stack.js", "marie.d.ts"];
const BUNDLE_NAME = "marie-node.js";
const DIAG_MARKER = "MARIE-COMPILE-ERROR ";
const MAX_DIAGNOSTICS = 20;
const WANTED = "export function execute(inputItems, config, context) { ... }";
const TS_EXTENSIONS = new Set([".ts", ".mts", ".cts"]);
const JS_EXTENSIONS = new Set([".js", ".mjs", ".cjs"]);

class UserError extends Error {}

function parseArgs(argv) {
    const opts = { _: [] };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith("--")) {
            opts[argv[i].slice(2)] = argv[++i];
        } else {
            opts._.push(argv[i]);
        }
    }
    return opts;
}

// ---- diagnostics -----------------------------------------------------------

let diagnostics = 0;

function report(shown, line, col, message) {
    diagnostics += 1;
    if (diagnostics <= MAX_DIAGNOSTICS) {
        process.stderr.write(`${shown}:${line}:${col}: ${message}\n`);
    } else if (diagnostics === MAX_DIAGNOSTICS + 1) {
        process.stderr.write(`${shown}: too many errors, the rest are not shown\n`);
    }
}

function lineCol(text, index) {
    const before = text.slice(0, index);
    const line = before.split("\n").length;
    return [line, index - before.lastIndexOf("\n")];
}

// Where `execute` is declared: exported forms first. [line, col] or null.
function findExecute(text) {
    const forms = [
        /\bexport\s+(?:async\s+)?function\s*\*?\s*execute\b/,
        /\bexport\s+(?:const|let|var)\s+execute\b/,
        /\bexport\s*\{[^}]*\bexecute\b[^}]*\}/,
        /\b(?:async\s+)?function\s*\*?\s*execute\b/,
        /\b(?:const|let|var)\s+execute\b/,
    ];
    for (const [i, re] of forms.entries()) {
        const m = re.exec(text);
        if (m) {
            return { pos: lineCol(text, m.index), exported: i < 3 };
        }
    }
    return null;
}

// ---- esbuild -----------------------------------------------------------------

function loadTool(toolchain, name) {
    const require = createRequire(join(resolve(toolchain), "package.json"));
    return require(name);
}

// Resolves the three names the bundle may import: "marie" (the capability
// module), "marie-user-node" (the user's file, from the wrapper) and the
// WIT interfaces "marie:node/*" (left to componentize-js). The user's file
// may import nothing else: a node is one file, and nothing outside the
// work directory may end up in the component.
function mariePlugin(userPath, wrapperDir) {
    return {
        name: "marie",
        setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
                if (args.kind === "entry-point") {
                    return undefined;
                }
                if (args.path === "marie") {
                    return { path: join(wrapperDir, "marie.js") };
                }
                if (args.importer === userPath) {
                    return {
                        errors: [{
                            text: `cannot import "${args.path}": a node is one file and can import only "marie"`,
                        }],
                    };
                }
                if (args.path === "marie-user-node") {
                    return { path: userPath };
                }
                if (args.path.startsWith("marie:node/")) {
                    return { path: args.path, external: true };
                }
                if (args.path.startsWith("./") && args.importer.startsWith(wrapperDir + "/")) {
                    return { path: join(wrapperDir, args.path) };
                }
                return { errors: [{ text: `unexpected import "${args.path}"` }] };
            });
        },
    };
}

function reportEsbuild(messages, userPath, shown) {
    for (const m of messages) {
        const loc = m.location;
        if (loc && resolve(loc.file) === userPath) {
            report(shown, loc.line, loc.column + 1, m.text);
        } else {
            report(shown, 1, 1, loc ? `${m.text} (in ${loc.file}:${loc.line})` : m.text);
        }
    }
}

const COMMON_OPTIONS = {
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    charset: "utf8",
    legalComments: "none",
    write: false,
    logLevel: "silent",
};

// esbuild on the user's file alone: syntax errors, bad imports, its exports.
async function checkUser(esbuild, userPath, wrapperDir, shown) {
    let result;
    try {
        result = await esbuild.build({
            ...COMMON_OPTIONS,
            entryPoints: [userPath],
            outfile: join(dirname(userPath), "check.js"),
            metafile: true,
            plugins: [{
                name: "marie-check",
                setup(build) {
                    // Keep "marie" out of this build: only the user's file matters.
                    build.onResolve({ filter: /^marie$/ }, () => ({ path: "marie", external: true }));
                    mariePlugin(userPath, wrapperDir).setup(build);
                },
            }],
        });
    } catch (e) {
        if (!Array.isArray(e.errors)) {
            throw e;
        }
        reportEsbuild(e.errors, userPath, shown);
        throw new UserError();
    }
    const exports = Object.values(result.metafile.outputs).flatMap((o) => o.exports ?? []);
    return new Set(exports);
}

function checkExecuteExport(exports, text, shown) {
    if (exports.has("execute")) {
        return;
    }
    const found = findExecute(text);
    if (found && !found.exported) {
        report(shown, found.pos[0], found.pos[1], `'execute' is defined but not exported; write: ${WANTED}`);
    } else if (exports.has("default")) {
        report(shown, 1, 1, `no export named 'execute' (a default export is not used); write: ${WANTED}`);
    } else {
        report(shown, 1, 1, `no exported function 'execute'; write: ${WANTED}`);
    }
    throw new UserError();
}

// ---- tsc -------------------------------------------------------------------------

function typeCheck(toolchain, srcDir, userPath, shown) {
    const config = {
        compilerOptions: {
            target: "ES2022",
            lib: ["ES2024"],    // the engine (SpiderMonkey) has these, but no Intl
            module: "ESNext",
            moduleResolution: "bundler",
            strict: true,
            noImplicitAny: false,   // plain JavaScript pasted into a .ts node still checks
            isolatedModules: true,  // what esbuild can compile file by file
            noEmit: true,
            skipLibCheck: true,
            types: [],
        },
        files: [relative(srcDir, userPath), "wrapper/marie.d.ts"],
    };
    const configPath = join(srcDir, "tsconfig.json");
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const tsc = join(resolve(toolchain), "node_modules", ".bin", "tsc");
    let output;
    try {
        execFileSync(tsc, ["-p", configPath, "--pretty", "false"], {
            cwd: srcDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20,
        });
        return;
    } catch (e) {
        if (typeof e.status !== "number") {
            throw new Error(`tsc did not run: ${e.message}`);
        }
        output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    }
    // "file(line,col): error TS2322: message", continuation lines indented.
    const head = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/;
    let last = false;
    let found = 0;
    for (const text of output.split("\n")) {
        const m = head.exec(text);
        if (m) {
            const inUser = resolve(srcDir, m[1]) === userPath;
            const line = inUser ? m[2] : 1;
            const col = inUser ? m[3] : 1;
            const where = inUser ? "" : ` (in ${m[1]}:${m[2]})`;
            report(shown, line, col, `${m[4]} ${m[5]}: ${m[6]}${where}`);
            last = diagnostics <= MAX_DIAGNOSTICS;
            found += 1;
        } else if (last && /^\s+\S/.test(text)) {
            process.stderr.write(`  ${text.trim()}\n`);
        } else {
            last = false;
        }
    }
    if (found === 0) {
        throw new Error(`tsc failed:\n${output.slice(0, 4096)}`);
    }
    throw new UserError();
}

// ---- source map ----------------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function decodeMappings(mappings) {
    const lines = [];
    let src = 0;
    let oLine = 0;
    let oCol = 0;
    let name = 0;
    for (const lineText of mappings.split(";")) {
        let gCol = 0;
        const segs = [];
        for (const seg of lineText.split(",")) {
            if (seg === "") {
                continue;
            }
            const vals = [];
            let value = 0;
            let shift = 0;
            for (const ch of seg) {
                const digit = B64.indexOf(ch);
                value += (digit & 31) << shift;
                if (digit & 32) {
                    shift += 5;
                } else {
                    vals.push(value & 1 ? -(value >>> 1) : value >>> 1);
                    value = 0;
                    shift = 0;
                }
            }
            gCol += vals[0];
            if (vals.length >= 4) {
                src += vals[1];
                oLine += vals[2];
                oCol += vals[3];
                let nameIndex = -1;
                if (vals.length >= 5) {
                    name += vals[4];
                    nameIndex = name;
                }
                segs.push([gCol, src, oLine, oCol, nameIndex]);
            }
        }
        lines.push(segs);
    }
    return lines;
}

// For the user's source only: lines { "<bundle line>": [genCol, line, col,
// ...] } and renames { bundleName: originalName } (esbuild renames a
// top-level name of the user's that the wrapper uses too; the source map
// names those, and stack frames show the bundle's name).
function userTable(map, mapDir, userPath, code) {
    const userSources = new Set(map.sources
        .map((s, i) => (resolve(mapDir, s) === userPath ? i : -1))
        .filter((i) => i >= 0));
    const codeLines = code.split("\n");
    const lines = {};
    const renames = {};
    decodeMappings(map.mappings).forEach((segs, i) => {
        const flat = [];
        for (const [gCol, src, oLine, oCol, nameIndex] of segs) {
            if (!userSources.has(src)) {
                continue;
            }
            flat.push(gCol, oLine + 1, oCol);
            const original = map.names[nameIndex];
            const generated = /^[A-Za-z_$][\w$]*/.exec((codeLines[i] ?? "").slice(gCol));
            if (original && generated && generated[0] !== original) {
                renames[generated[0]] = original;
            }
        }
        if (flat.length) {
            lines[String(i + 1)] = flat;
        }
    });
    return { lines, renames };
}

// ---- bundle ------------------------------------------------------------------------

async function bundle(opts) {
    const work = resolve(opts.work);
    const shown = opts.shown;
    const srcDir = join(work, "src");
    const wrapperDir = join(srcDir, "wrapper");
    const bundleDir = join(work, "bundle");
    const name = basename(opts.user);
    const ext = extname(name).toLowerCase();
    const isTs = TS_EXTENSIONS.has(ext);
    if (!isTs && !JS_EXTENSIONS.has(ext)) {
        report(shown, 1, 1, `unsupported file type '${ext || name}'; a node is a .js or .ts file`);
        throw new UserError();
    }

    rmSync(srcDir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
    mkdirSync(join(srcDir, "user"), { recursive: true });
    mkdirSync(wrapperDir, { recursive: true });
    mkdirSync(bundleDir, { recursive: true });
    for (const f of WRAPPER_FILES) {
        copyFileSync(join(WRAPPER_DIR, f), join(wrapperDir, f));
    }
    const userPath = join(srcDir, "user", name);
    copyFileSync(opts.user, userPath);
    const text = readFileSync(userPath, "utf8");

    const esbuild = loadTool(opts.toolchain, "esbuild");
    const exports = await checkUser(esbuild, userPath, wrapperDir, shown);
    if (isTs) {
        typeCheck(opts.toolchain, srcDir, userPath, shown);
    }
    checkExecuteExport(exports, text, shown);

    const found = findExecute(text);
    const outfile = join(bundleDir, BUNDLE_NAME);
    let result;
    try {
        result = await esbuild.build({
            ...COMMON_OPTIONS,
            entryPoints: [join(wrapperDir, "marie_app.js")],
            outfile,
            sourcemap: "external",
            sourcesContent: false,
            define: { MARIE_EXECUTE_POS: JSON.stringify(found ? found.pos.join(":") : "1:1") },
            plugins: [mariePlugin(userPath, wrapperDir)],
        });
    } catch (e) {
        if (!Array.isArray(e.errors)) {
            throw e;
        }
        reportEsbuild(e.errors, userPath, shown);
        throw new UserError();
    }
    const code = result.outputFiles.find((f) => f.path === outfile);
    const mapFile = result.outputFiles.find((f) => f.path === `${outfile}.map`);
    if (!code || !mapFile) {
        throw new Error("esbuild wrote no bundle");
    }
    const map = JSON.parse(mapFile.text);
    const table = { file: name, bundle: BUNDLE_NAME, ...userTable(map, bundleDir, userPath, code.text) };
    writeFileSync(`${outfile}.map`, mapFile.text);
    writeFileSync(join(bundleDir, "lines.json"), JSON.stringify(table));
    // A function declaration is hoisted: the table exists before any module
    // code runs, and appending it moves no line of the bundle.
    const appended = `\nfunction __marie_source_map__() {\n  return ${JSON.stringify(table)};\n}\n`;
    writeFileSync(outfile, code.text + appended);
}

// ---- diagnose ----------------------------------------------------------------------

function diagnose(opts) {
    const log = readFileSync(opts.log, "utf8");
    const shown = opts.shown;
    const marker = log.indexOf(DIAG_MARKER);
    if (marker >= 0) {
        const line = log.slice(marker + DIAG_MARKER.length).split("\n")[0];
        const m = /^(\d+):(\d+): (.*)$/.exec(line);
        if (m) {
            report(shown, m[1], m[2], m[3]);
            return 1;
        }
    }
    // componentize-js: "Exception while evaluating top-level script\n
    // marie-node.js:L:C Name: message" and a "Stack:" of "  fn@file:L:C".
    const top = log.indexOf("Exception while evaluating top-level script");
    if (top < 0) {
        return 2;
    }
    const rest = log.slice(top).split("\n");
    const headline = /^\S+:\d+:\d+ (.*)$/.exec(rest[1] ?? "");
    const message = headline ? headline[1] : (rest[1] ?? "").trim();
    let table = null;
    try {
        table = JSON.parse(readFileSync(join(resolve(opts.work), "bundle", "lines.json"), "utf8"));
    } catch {
        // No table: report without a position.
    }
    let pos = null;
    const frameRe = new RegExp(`^\\s*(.*)@${BUNDLE_NAME.replace(".", "\\.")}:(\\d+):(\\d+)$`);
    for (const text of rest) {
        const m = frameRe.exec(text);
        const segs = m && table ? table.lines[m[2]] : undefined;
        if (!segs) {
            continue;
        }
        const genCol = Number(m[3]) - 1;
        let best = 0;
        for (let i = 0; i < segs.length && segs[i] <= genCol; i += 3) {
            best = i;
        }
        pos = [segs[best + 1], segs[best + 2] + 1];
        break;
    }
    const [line, col] = pos ?? [1, 1];
    report(shown, line, col,
        `uncaught ${message} (the module's top level runs when the node is compiled)`);
    return 1;
}

// ---- main --------------------------------------------------------------------------

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const command = opts._[0];
    try {
        if (command === "bundle") {
            await bundle(opts);
            return 0;
        }
        if (command === "diagnose") {
            return diagnose(opts);
        }
        process.stderr.write("usage: build.mjs bundle|diagnose ...\n");
        return 64;
    } catch (e) {
        if (e instanceof UserError) {
            return 1;
        }
        process.stderr.write(`build.mjs: ${e && e.stack ? e.stack : e}\n`);
        return 70;
    }
}

process.exitCode = await main();
