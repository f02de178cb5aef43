"""The componentize-py app of a Python node.

compile.sh puts this file, the `marie` package and the user's code (as
node.py) in one directory and runs componentize-py on this module.
componentize-py imports it while it builds the component and snapshots the
interpreter afterwards. At run time there is no file system, so everything
the node needs is imported here, at build time: the user's module, every
module its import statements name (also those inside functions), and the
host capabilities.

Build time: compile the user's source under its own file name (so
tracebacks show the user's file and lines), run it as module `node` with
`json` and the capabilities pre-imported, check that it defines
`execute(input_items, config, context)`. A problem is printed as one line
"MARIE-COMPILE-ERROR LINE:COL: message" and the build fails; compile.sh
turns it into "USER_FILE:LINE:COL: message".

Run time: WitWorld.execute converts the WIT records to plain dicts, calls
the user's function, converts what it returns, and turns an exception into
err("Type: message") plus the traceback at error level in the log. No
exception may leave execute: componentize-py would trap the instance.
"""
import ast
import importlib
import importlib.util
import inspect
import json
import linecache
import os
import sys
import traceback
import types as pytypes

import wit_world
from wit_world.imports import console, types

import marie
from marie import errors as marie_errors

_HERE = os.path.dirname(os.path.abspath(__file__))
USER_MODULE = "node"
USER_SOURCE = os.path.join(_HERE, "node.py")
# One line: the file name tracebacks show (compile.sh writes the user's
# base name there; without it, "node.py").
USER_NAME_FILE = os.path.join(_HERE, "node.name")
DIAG_MARKER = "MARIE-COMPILE-ERROR "

# Modules the standard library imports lazily, on first use of a feature;
# at run time they could no longer be found, so load them now.
_LAZY_STDLIB = (
    "_strptime",                       # datetime.strptime, time.strptime
    "encodings.idna", "encodings.utf_16", "encodings.utf_32",
    "encodings.latin_1", "encodings.ascii", "encodings.unicode_escape",
    "encodings.raw_unicode_escape", "encodings.cp1252", "encodings.punycode",
)

# Modules with effects on import (printing, opening windows) or no use in a
# sandbox; never loaded unless the user's code imports them at top level.
_NEVER_PRELOAD = frozenset({
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo",
    "__main__", "__phello__", "pydoc", "pydoc_data", "test", "ensurepip",
    "venv", "lib2to3", "msvcrt", "winreg", "_winapi", "nt", "_overlapped",
})

# Followed only when the user's code imports them itself: large, and of no
# use in a node that has no processes, threads, sockets or terminal.
_NOT_FOLLOWED = frozenset({
    "asyncio", "multiprocessing", "concurrent", "subprocess", "unittest",
    "doctest", "pdb", "bdb", "cmd", "code", "codeop", "rlcompleter",
    "_pyrepl", "argparse", "getopt", "optparse", "xmlrpc", "http", "urllib",
    "ftplib", "smtplib", "imaplib", "poplib", "socketserver", "socket",
    "selectors", "tarfile", "zipfile", "zipimport", "shutil", "tempfile",
    "glob", "webbrowser", "mailbox", "sqlite3", "dbm", "curses", "readline",
    "runpy", "py_compile", "compileall", "profile", "cProfile", "pstats",
    "timeit", "trace", "tracemalloc", "logging",
})

# Command-line entry points; their imports are not followed.
_CLI_FUNCTIONS = frozenset({"main", "_main", "_test", "test", "_demo", "demo"})

# Names every node can use without importing them.
_INJECTED = {
    "json": json,
    "marie": marie,
    "http": marie.http,
    "secrets": marie.secrets,
    "kv": marie.kv,
    "log": marie.log,
    "events": marie.events,
}


# ---- build time -------------------------------------------------------------

def _describe(e):
    message = str(e)
    if isinstance(e, MemoryError) and not message:
        message = "out of memory (the node's max_memory_mb limit)"
    return f"{type(e).__name__}: {message}" if message else type(e).__name__


def _fail(line, col, message):
    """Reports a problem in the user's code and stops the build."""
    message = " ".join(str(message).split())
    print(f"{DIAG_MARKER}{line or 1}:{col or 1}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def _display_name():
    try:
        with open(USER_NAME_FILE, encoding="utf-8") as f:
            name = f.read().strip()
    except FileNotFoundError:
        name = ""
    return name or "node.py"


def _compile_user(source, filename):
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        _fail(e.lineno, e.offset, f"{type(e).__name__}: {e.msg}")
    except ValueError as e:                      # e.g. a NUL byte in the source
        _fail(1, 1, f"SyntaxError: {e}")


def _run_user_module(code, filename):
    module = pytypes.ModuleType(USER_MODULE)
    module.__file__ = filename
    module.__dict__.update(_INJECTED)
    sys.modules[USER_MODULE] = module            # dataclasses, pickle look it up
    try:
        exec(code, module.__dict__)
    except BaseException as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
        where = frames[-1] if frames else None
        col = (where.colno + 1) if where and where.colno is not None else 1
        _fail(where.lineno if where else 1, col,
              f"{_describe(e)} (raised while importing the module at compile time)")
    return module


def _is_main_guard(node):
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _import_nodes(tree, skip_cli):
    """Import statements at any depth; with skip_cli, not those in a
    command-line entry point (def main / if __name__ == "__main__"), which
    in the standard library would pull in argparse, pdb, unittest..."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if skip_cli and (
                (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.name in _CLI_FUNCTIONS)
                or (isinstance(node, ast.If) and _is_main_guard(node))):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imported_names(tree, package, skip_cli=False):
    """Every module an import statement names (relative imports resolved
    against package)."""
    names = []
    for node in _import_nodes(tree, skip_cli):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            if not package:
                continue
            try:
                base = importlib.util.resolve_name("." * node.level + base, package)
            except ImportError:
                continue
        if base:
            names.append(base)
        names.extend(f"{base}.{a.name}" if base else a.name
                     for a in node.names if a.name != "*")
    return names


def _module_tree(module):
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    try:
        with open(path, "rb") as f:
            return ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None


def _preload(tree, baseline):
    """Imports, now, every module the user's code may import at run time:
    those its import statements name (always) and, transitively, those
    that these modules import inside their functions (Counter.most_common
    imports heapq on first call). The transitive part skips command-line
    entry points, the packages in _NOT_FOLLOWED and the modules the wrapper
    had loaded before (unless the user's code names them): following
    everything loads ~300 modules and doubles the component's size, memory
    and start-up time. Best effort: an import that fails here fails again,
    with the same error, when the code runs it."""
    def load(names, follow):
        for name in names:
            root = name.split(".")[0]
            if name in sys.modules or root in _NEVER_PRELOAD:
                continue
            if follow and root in _NOT_FOLLOWED:
                continue
            try:
                importlib.import_module(name)
            except BaseException:
                pass

    direct = _imported_names(tree, None)
    load(direct + list(_LAZY_STDLIB), follow=False)
    scanned = set(baseline) - set(direct)
    scanned.add(USER_MODULE)
    while True:
        pending = []
        for name, module in list(sys.modules.items()):
            if name in scanned:
                continue
            scanned.add(name)
            sub = _module_tree(module)
            if sub is not None:
                pkg = name if hasattr(module, "__path__") else name.rpartition(".")[0]
                pending.extend(_imported_names(sub, pkg, skip_cli=True))
        if not pending:
            return
        load(pending, follow=True)


def _check_execute(module, filename):
    fn = getattr(module, "execute", None)
    wanted = "def execute(input_items, config, context):"
    if fn is None:
        _fail(1, 1, f"no function 'execute' defined; write: {wanted}")
    if not callable(fn):
        _fail(1, 1, f"'execute' is a {type(fn).__name__}, not a function; write: {wanted}")
    code = getattr(fn, "__code__", None)
    line = code.co_firstlineno if code and code.co_filename == filename else 1
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        _fail(line, 1, f"execute must be a plain function, not async; write: {wanted}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(None, None, None)
    except TypeError:
        n = len(sig.parameters)
        _fail(line, 1, f"execute must take 3 parameters (input_items, config, context), "
                       f"it takes {n}: execute{sig}")


def _load_user_code():
    filename = _display_name()
    with open(USER_SOURCE, "rb") as f:
        source = f.read()
    code = _compile_user(source, filename)
    # Tracebacks read source lines through linecache; there is no file at
    # run time, so keep the text in the cache (mtime None: never checked).
    text = source.decode("utf-8", errors="replace")
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    baseline = frozenset(sys.modules)
    module = _run_user_module(code, filename)
    _preload(ast.parse(source, filename), baseline)
    _check_execute(module, filename)
    return module, filename


_user, _user_file = _load_user_code()
marie_errors._host_ready = True
# The instance is dropped without interpreter shutdown: write each line as
# it comes so that nothing stays in a buffer.
for _stream in (sys.stdout, sys.stderr):
    try:
        _stream.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass


# ---- run time ---------------------------------------------------------------

_WRAPPER_PREFIXES = (os.path.join(_HERE, "marie_app.py"), os.path.join(_HERE, "marie") + os.sep)


def _trim(te, seen):
    """Drops the wrapper's own frames from a TracebackException chain."""
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    kept = [f for f in te.stack if not f.filename.startswith(_WRAPPER_PREFIXES)]
    te.stack = traceback.StackSummary.from_list(kept)
    _trim(te.__cause__, seen)
    _trim(te.__context__, seen)


def _log_traceback(e):
    try:
        te = traceback.TracebackException.from_exception(e)
        _trim(te, set())
        text = "".join(te.format()).rstrip("\n")
    except BaseException:
        text = _describe(e)
    console.log(console.LogLevel.ERROR, text)


def _config(vars_text):
    if not vars_text.strip():
        return {}
    return json.loads(vars_text)


def _dumps(value):
    return json.dumps(value, allow_nan=False)


class _BadResult(Exception):
    pass


def _kind(value):
    if value is None:
        return "None"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    return f"a {type(value).__name__}"


def _to_item(index, value):
    """An item dict ({"json": ..., "binary": ...}) or any JSON value."""
    if isinstance(value, dict) and "json" in value and set(value) <= {"json", "binary"}:
        text = value["json"]
        if isinstance(text, str):
            try:
                json.loads(text)
            except ValueError as e:
                raise _BadResult(f"item {index}: 'json' is not valid JSON text ({e}); "
                                 "give a JSON string or a value to serialise") from None
        else:
            try:
                text = _dumps(text)
            except (TypeError, ValueError) as e:
                raise _BadResult(f"item {index}: 'json' cannot be serialised to JSON: {e}") from None
        binary = value.get("binary")
        if isinstance(binary, (bytearray, memoryview)):
            binary = bytes(binary)
        elif binary is not None and not isinstance(binary, bytes):
            raise _BadResult(f"item {index}: 'binary' must be bytes or None, "
                             f"not {type(binary).__name__}")
        return types.Item(json=text, binary=binary)
    try:
        return types.Item(json=_dumps(value), binary=None)
    except (TypeError, ValueError) as e:
        raise _BadResult(f"item {index}: {_kind(value)} cannot be serialised to JSON: {e}") from None


def _to_response(result):
    shape = "execute must return {'ok': [items]} or {'err': 'message'}"
    if not (isinstance(result, dict) and len(result) == 1):
        hint = " (wrap the list: return {'ok': [...]})" if isinstance(result, (list, tuple)) else ""
        raise _BadResult(f"{shape}, got {_kind(result)}{hint}")
    (key, value), = result.items()
    if key in ("err", "error"):
        if not isinstance(value, str):
            try:
                value = _dumps(value)
            except (TypeError, ValueError):
                value = str(value)
        return types.Response_Err(value)
    if key not in ("ok", "success"):
        raise _BadResult(f"{shape}, got {_kind(result)}")
    if not isinstance(value, (list, tuple)):
        raise _BadResult(f"the '{key}' value must be a list of items, got {_kind(value)}")
    return types.Response_Ok([_to_item(i, v) for i, v in enumerate(value)])


def _run(input, env, ctx):
    items = [{"json": it.json, "binary": it.binary} for it in input]
    try:
        config = _config(env.vars)
    except ValueError as e:
        return types.Response_Err(f"config is not valid JSON: {e}")
    context = {
        "workflow_id": ctx.workflow_id,
        "execution_id": ctx.execution_id,
        "node_id": ctx.node_id,
        "run_index": ctx.run_index,
    }
    try:
        result = _user.execute(items, config, context)
    except BaseException as e:                  # SystemExit too: never trap
        _log_traceback(e)
        return types.Response_Err(_describe(e))
    try:
        return _to_response(result)
    except _BadResult as e:
        return types.Response_Err(str(e))


class WitWorld(wit_world.WitWorld):
    def execute(self, input, env, ctx):
        try:
            return _run(input, env, ctx)
        except BaseException as e:
            return types.Response_Err(f"Python node wrapper failed: {_describe(e)}")
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
