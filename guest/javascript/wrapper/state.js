// Whether execute() is running. The capabilities in marie.js refuse to run
// outside it: the module's top level is evaluated at build time (wizer
// snapshots the engine afterwards), where the host's functions do not exist.
let depth = 0;

export function inExecute() {
    return depth > 0;
}

export function enterExecute() {
    depth += 1;
}

export function leaveExecute() {
    depth = Math.max(0, depth - 1);
}
