# SPDX-License-Identifier: MIT
"""Reference call trees from the interpreter itself.

Runs a script under sys.monitoring (PEP 669) in the same interpreter the
tracer uses and writes the call trees that the tracer should report, in the
normalised form of compare.py. It shares no code with the tracer: the
frame stream comes from the interpreter's own events, and the seed's rules
(scope, external calls, transparent frames, imports, call types) are
implemented again here from docs/json-format.md.

usage: python3.15 oracle.py --out FILE --scope DIR [--scope DIR...] [--no-external-calls]
                            [--no-imports] [--show-dunders] [--track-executed-lines] SCRIPT [ARGS...]
       python3.15 oracle.py --out FILE --scope DIR [...] -m MODULE [ARGS...]
       python3.15 oracle.py --out FILE --scope DIR [...] --pytest [PYTEST ARGS...]

With --where FILE:LINE:N it writes, instead, the stack of the thread on which
LINE of FILE is about to run for the Nth time (counted on every thread), as
trace_where reports it, and ends the program there as trace_where does.
With --track-executed-lines, the lines that run in in-scope code are nodes
{"executed_line": N, "file", "function", "context"} among the calls, in the
order they ran. The script's (or pytest's) exit code is this program's exit code. With
--pytest, pytest runs in this process as `python -m pytest` would run it,
and the calls each test's run makes go under a node for that test.
"""

# Only built-in modules before the script runs: anything imported here would
# be missing from the script's own imports and change what importlib runs.
import sys
import _thread

MON = sys.monitoring
TOOL = MON.PROFILER_ID
CO_OPTIMIZED = 0x1


class Frame:
    __slots__ = ("code", "line", "site", "first_arg", "arguments", "children", "observer_effect", "seq",
                 "test")

    def __init__(self, code, line, site, first_arg, arguments):
        self.observer_effect = False
        self.seq = next_seq()
        self.test = current_test
        self.code = code
        self.line = line
        self.site = site  # (filename, line, end line) of the caller's call, or None
        # What the first argument was: "class", the qualified names of its
        # type's MRO, or None. Never the object: holding it would keep it
        # alive and move its weakref callbacks, which are calls too.
        self.first_arg = first_arg
        self.arguments = arguments
        self.children = []


# pytest mode: the tests in the order they ran, and the one running now.
tests = []
current_test = None
_seq = [0]


def next_seq():
    _seq[0] += 1
    return _seq[0]


roots = {}   # native thread id -> [Frame]
stacks = {}  # native thread id -> [Frame]
thread_order = []


def line_at(code, offset):
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line if line is not None else 0
    return 0


def is_static_method(code, module_globals):
    """The function is a @staticmethod in the class its qualified name names
    (looked up in the class's own namespace, running nothing of the program)."""
    parts = code.co_qualname.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return False
    owner = module_globals.get(parts[0])
    for part in parts[1:-1]:
        owner = type.__dict__["__dict__"].__get__(owner).get(part) if isinstance(owner, type) else None
    if not isinstance(owner, type):
        return False
    return isinstance(type.__dict__["__dict__"].__get__(owner).get(parts[-1]), staticmethod)


positions = {}  # code object -> its instructions' source positions


def call_site(caller):
    """(file, first line, last line) of the instruction the caller is on:
    the call, as the interpreter's own position table spans it."""
    code = caller.f_code
    table = positions.get(code)
    if table is None:
        table = positions[code] = list(code.co_positions())
    index = caller.f_lasti // 2
    start, end = (table[index][0], table[index][1]) if 0 <= index < len(table) else (None, None)
    line = caller.f_lineno or 0
    return (code.co_filename, line, end if start == line and end else line)


def open_frame(code, line):
    tid = _thread.get_native_id()
    stack = stacks.get(tid)
    if stack is None:
        stack = stacks[tid] = []
        roots[tid] = []
        thread_order.append(tid)
    # Frame 0 is this callback, frame 1 the frame the event is about.
    frame = sys._getframe(2)
    caller = frame.f_back
    site = call_site(caller) if caller else None
    first_arg = None
    if code.co_flags & CO_OPTIMIZED and code.co_argcount:
        value = frame.f_locals.get(code.co_varnames[0])
        if isinstance(value, type):
            first_arg = "class"
        elif value is not None:
            first_arg = tuple(c.__qualname__ for c in type(value).__mro__)
        del value
        if is_static_method(code, frame.f_globals):
            first_arg = None  # whatever it was called with, a function
    arguments = describe_arguments(code, frame) if capture_arguments else {}
    del frame, caller
    node = Frame(code, line, site, first_arg, arguments)
    (stack[-1].children if stack else roots[tid]).append(node)
    stack.append(node)
    return node


# Argument values as the tracer records them (docs/json-format.md, and
# userspace/core/arguments.h): by value for simple types, containers by
# size, other objects by type. Only built-in operations: nothing of the
# program's own runs here.
capture_arguments = True
ARGS_MAX = 8
TEXT_MAX = 104
MAX_CHARS = 100
CO_VARARGS = 0x4
CO_VARKEYWORDS = 0x8


def counted(n, one, many):
    return "%d %s" % (n, one if n == 1 else many)


def format_value(value):
    kind = type(value)
    if value is None or kind is bool:
        return value
    if isinstance(value, int):
        value = int.__int__(value)
        return value if value.bit_length() <= 780 else "<int with more than 780 bits>"
    if kind is float:
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, str):
        text = str.__str__(value)
        widest = max(map(ord, text), default=0)
        width = 1 if widest < 0x100 else 2 if widest < 0x10000 else 4
        keep = min(len(text), MAX_CHARS, TEXT_MAX // width)
        kept = "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text[:keep])
        return kept + ("..." if len(text) > keep else "")
    if isinstance(value, bytes):
        data = bytes.__getitem__(value, slice(None))
        text = repr(data) if len(data) <= TEXT_MAX else ""
        return text if text and len(text) <= MAX_CHARS else "bytes object"
    for base, name in ((list, "list"), (tuple, "tuple")):
        if isinstance(value, base):
            n = base.__len__(value)
            return [] if n == 0 else "%s with %s" % (name, counted(n, "item", "items"))
    if isinstance(value, dict):
        n = dict.__len__(value)
        return {} if n == 0 else "dict with " + counted(n, "key", "keys")
    if kind is set:
        n = set.__len__(value)
        return "set()" if n == 0 else "set with " + counted(n, "item", "items")
    if isinstance(value, type):
        return "<class '%s'>" % type.__dict__["__name__"].__get__(value)
    return "<%s object>" % kind.__name__


def describe_arguments(code, frame):
    flags = code.co_flags
    count = code.co_argcount + code.co_kwonlyargcount + bool(flags & CO_VARARGS) + bool(flags & CO_VARKEYWORDS)
    if not count:
        return {}
    local = frame.f_locals
    out = {}
    for i in range(min(count, ARGS_MAX)):
        name = code.co_varnames[i]
        key = name
        if flags & CO_VARKEYWORDS and i == count - 1:
            key = "**" + name
        elif flags & CO_VARARGS and i == count - 1 - bool(flags & CO_VARKEYWORDS):
            key = "*" + name
        out[key] = format_value(local[name]) if name in local else "<unbound>"
    if count > ARGS_MAX:
        out["..."] = "%d more not recorded" % (count - ARGS_MAX)
    return out


def on_start(code, offset):
    open_frame(code, code.co_firstlineno)


def on_resume(code, offset):
    open_frame(code, line_at(code, offset))


RESUME_OPARG_DEPTH1_MASK = 0x8


def on_throw(code, offset, exception):
    node = open_frame(code, line_at(code, offset))
    # Observer effect: a generator finalized while suspended at a yield
    # outside any try block is closed without running its frame in a plain
    # run (gen_close's fast path; the RESUME after such a yield has the
    # DEPTH1 bit), but under sys.monitoring the close runs the frame. The
    # probes see the plain run, so this run is not a call of the program's.
    if isinstance(exception, GeneratorExit) and code.co_code[offset + 1] & RESUME_OPARG_DEPTH1_MASK:
        node.observer_effect = True


# --track-executed-lines: each LINE event, among the calls of its frame.
track_lines = False
oracle_code_file = __file__


where_out = None
where = None  # --where: [file, line, N, hits so far, the Rules]


def take_where_stack(out):
    """trace_where's view of the stack at the breakpoint: the in-scope frames,
    innermost first, each at its current line."""
    import json
    import os
    rules = where[4]
    frames = []
    frame = sys._getframe(2)  # 0: this function, 1: on_line, 2: the frame at the breakpoint
    while frame is not None:
        code = frame.f_code
        if rules.in_scope(code.co_filename):
            caller = frame.f_back
            if caller is not None and caller.f_code.co_filename == oracle_code_file:
                caller = None  # the oracle's exec stands for the interpreter's
            frames.append({"name": code.co_name, "qualname": code.co_qualname,
                           "location": rules.location(code.co_filename, frame.f_lineno),
                           "parent_location": rules.location(caller.f_code.co_filename, caller.f_lineno)
                           if caller else None})
        frame = frame.f_back
    for depth, entry in enumerate(reversed(frames)):
        entry["depth"] = depth
    with open(out, "w") as f:
        json.dump({"frames": frames, "thread_id": _thread.get_native_id()}, f, indent=1)
    sys.stdout.flush()
    os._exit(0)


def on_line(code, line):
    if where and line == where[1] and code.co_filename == where[0]:
        where[3] += 1
        if where[3] == where[2]:
            take_where_stack(where_out)
        return
    if not code.co_filename.startswith("/") or code.co_filename == oracle_code_file:
        return MON.DISABLE
    stack = stacks.get(_thread.get_native_id())
    if stack:
        stack[-1].children.append(("line", code, line, next_seq(), current_test))


def on_close(code, offset, value):
    stack = stacks.get(_thread.get_native_id())
    if stack:
        stack.pop()


def start_monitoring():
    events = MON.events
    MON.use_tool_id(TOOL, "pytrace-oracle")
    for event, callback in ((events.PY_START, on_start), (events.PY_RESUME, on_resume),
                            (events.PY_THROW, on_throw), (events.PY_RETURN, on_close),
                            (events.PY_YIELD, on_close), (events.PY_UNWIND, on_close)):
        MON.register_callback(TOOL, event, callback)
    wanted = events.PY_START | events.PY_RESUME | events.PY_THROW | events.PY_RETURN | events.PY_YIELD | \
        events.PY_UNWIND
    if track_lines:
        MON.register_callback(TOOL, events.LINE, on_line)
        wanted |= events.LINE
    MON.set_events(TOOL, wanted)


def fresh_main(path=None):
    """A new __main__ module for the program: not the oracle's own globals."""
    main = type(sys)("__main__")
    if path:
        main.__file__ = path
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    return main


def run_monitored(run):
    """Calls `run` with the monitoring on; returns the exit code the
    interpreter would give."""
    exit_code = 0
    start_monitoring()
    try:
        run()
    except SystemExit as e:
        exit_code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        MON.set_events(TOOL, 0)
        import traceback
        traceback.print_exc()
        exit_code = 1
    finally:
        MON.set_events(TOOL, 0)
        MON.free_tool_id(TOOL)
    return exit_code


def run_script(path, args):
    sys.argv = [path] + args
    sys.path[0] = path.rsplit("/", 1)[0]
    main = fresh_main(path)
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    return run_monitored(lambda: exec(code, main.__dict__))


def run_module(name, args):
    """Runs a module as `python -m` does: the interpreter's own runpy entry,
    in sys.modules["__main__"], sys.path[0] the current directory. Returns
    the exit code and the file that ran as __main__."""
    import os
    import runpy  # python -m imports it before the module runs, too
    sys.argv = ["-m"] + args
    sys.path[0] = os.getcwd()
    fresh_main()
    exit_code = run_monitored(lambda: runpy._run_module_as_main(name))
    return exit_code, sys.modules["__main__"].__file__


def run_pytest(args):
    """Runs pytest here, as `python -m pytest ARGS` would, with a plugin that
    says which test's run is going on and how it ended."""
    import pytest

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(item, nextitem):
        global current_test
        lineno = item.location[1]
        tests.append({"nodeid": item.nodeid, "file": str(item.path),
                      "line": lineno + 1 if lineno is not None else 0, "outcome": "passed",
                      "seq": next_seq(), "tid": _thread.get_native_id()})
        current_test = len(tests) - 1
        yield
        current_test = None

    def pytest_runtest_logreport(report):
        for test in tests:
            if test["nodeid"] == report.nodeid and (
                    report.outcome == "failed" or (report.outcome == "skipped" and test["outcome"] == "passed")):
                test["outcome"] = report.outcome

    plugin = type(sys)("pytrace_oracle_plugin")
    plugin.pytest_runtest_protocol = pytest_runtest_protocol
    plugin.pytest_runtest_logreport = pytest_runtest_logreport
    sys.path[0] = ""  # as `python -m pytest` has it
    start_monitoring()
    try:
        return int(pytest.main(args, plugins=[plugin]))
    finally:
        MON.set_events(TOOL, 0)
        MON.free_tool_id(TOOL)


# ---- the seed's rules, after the run -----------------------------------

class Rules:
    def __init__(self, scopes, main_file, external_calls, imports, show_dunders):
        import os
        import sysconfig
        self.os = os
        self.scopes = list(dict.fromkeys(os.path.normpath(scope) for scope in scopes))
        self.main_file = main_file
        self.external_calls = external_calls
        self.imports = imports
        self.show_dunders = show_dunders
        self.library = [os.path.normpath(sysconfig.get_path(k)) for k in ("stdlib", "platstdlib")]
        self.oracle_file = os.path.normpath(__file__)

    def under(self, path, directory):
        return path.startswith(directory.rstrip("/") + "/")

    def root_of(self, path):
        """The innermost scope directory `path` lies under, or None."""
        roots = [root for root in self.scopes if self.under(path, root)]
        return max(roots, key=len) if roots else None

    def in_scope(self, filename):
        if not filename.startswith("/"):
            return False
        path = self.os.path.normpath(filename)
        root = self.root_of(path)
        if root is None:
            return False
        # The standard library is out, unless the scope lies inside it.
        if any(self.under(path, d) and not (root == d or self.under(root, d)) for d in self.library):
            return False
        inner = path[len(root) + 1:].split("/")[:-1]
        return not any(d in ("site-packages", "dist-packages") for d in inner)

    def location(self, filename, line, module=False):
        path = self.os.path.normpath(filename) if filename.startswith("/") else filename
        root = self.root_of(path)
        if root is not None:
            # Relative to the first scope; to a further one's directory, so
            # that its name leads.
            base = root if root == self.scopes[0] else self.os.path.dirname(root)
            path = path[len(base.rstrip("/")) + 1:]
        return path if module or not line else "%s:%d" % (path, line)

    @staticmethod
    def hidden(name):
        dunder = len(name) > 4 and name.startswith("__") and name.endswith("__")
        return (dunder and name not in ("__init__", "__call__")) or \
            name in ("<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>")

    def call_type(self, frame, external, importing):
        code = frame.code
        name = code.co_name
        caller_file = frame.site[0] if frame.site else ""
        if name == "<module>":
            # The script's module body, or one with no Python caller (the
            # oracle's own exec stands for the interpreter's).
            no_caller = self.site_location(frame.site) is None
            main = (self.os.path.normpath(code.co_filename) == self.main_file or no_caller) and not importing
            return "module_execution" if main else "import"
        parts = code.co_filename.split("/")
        if code.co_filename.startswith("<frozen importlib.") or \
                any(p.startswith("importlib") for p in parts[:-1]) or \
                "<frozen importlib._bootstrap" in caller_file:
            return "import"
        if not code.co_flags & CO_OPTIMIZED:
            return "class_declaration"
        if name == "__init__":
            return "class_instantiation"
        if name == "__call__":
            return "callable_object"
        if self.hidden(name) and name not in ("<genexpr>",):
            return "special_method"
        if name == "<lambda>":
            return "lambda_function"
        if name == "<genexpr>":
            return "comprehension"
        if external:
            return "external_call"
        owner = code.co_qualname.rsplit(".", 1)[0] if "." in code.co_qualname else None
        if owner and owner.rsplit(".", 1)[-1] != "<locals>":
            # Defined in a class body: what it was called with tells the kind.
            arg = frame.first_arg
            if arg == "class":
                return "class_method"
            if arg is not None and owner in arg:
                return "method"
            return "function_call"
        return "function_call"

    def project(self, frames, out, caller_in_scope, importing, outer_site=None, caller=None):
        """Appends the logged calls among `frames` (siblings) to `out`.

        `outer_site` is the call site inside the nearest in-scope ancestor,
        which --no-external-calls reports as the parent location of calls
        made below out-of-scope frames (None: there is no such ancestor).
        `caller` is the name of the nearest logged ancestor, in scope or not
        (caller_id), None if there is none.
        """
        for frame in frames:
            if isinstance(frame, tuple):
                self.add_line(frame, out)
                continue
            if frame.observer_effect and not frame.children:
                continue
            code = frame.code
            inside = self.in_scope(code.co_filename)
            hidden = not self.show_dunders and self.hidden(code.co_name)
            logged = (inside or (self.external_calls and caller_in_scope)) and not hidden
            # An import is running when the module body or importlib runs it.
            now_importing = importing or code.co_filename.startswith("<frozen importlib.")
            kind = self.call_type(frame, not inside, importing) if logged else None
            if kind == "import" and not self.imports:
                logged = False
            site = frame.site if self.external_calls or caller_in_scope else outer_site
            children_out = out
            if logged:
                node = {
                    "_seq": frame.seq,
                    "_test": frame.test,
                    "name": code.co_name,
                    "file": self.os.path.normpath(code.co_filename)
                    if code.co_filename.startswith("/") else code.co_filename,
                    "line": 0 if code.co_name == "<module>" else frame.line,
                    "external": not inside,
                    "call_type": kind,
                    "parent_location": self.site_location(site),
                    "parent_call": self.site_text(site) if self.site_location(site) else None,
                    "arguments": frame.arguments,
                    "caller": caller,
                    "children": [],
                }
                out.append(node)
                if inside:
                    children_out = node["children"]
            self.project(frame.children, children_out, inside, now_importing, site,
                         code.co_name if logged else caller)

    def add_line(self, event, out):
        """An executed line of in-scope code, with the seed's context."""
        _, code, line, seq, test = event
        if not self.in_scope(code.co_filename):
            return
        out.append({"_seq": seq, "_test": test, "executed_line": line,
                    "file": self.location(code.co_filename, 0, True), "function": code.co_name,
                    "context": self.line_context(code, line)})

    def line_context(self, code, line):
        """docs/json-format.md, "Executed lines": from the line's text and
        the kind of code it runs in."""
        try:
            with open(code.co_filename, encoding="utf-8", errors="replace") as f:
                text = f.read().split("\n")[line - 1].strip()
        except (OSError, IndexError):
            text = ""
        unprefixed = text.lstrip("rRbBuUfF")
        if text.startswith("#") or (len(text) - len(unprefixed) <= 2 and unprefixed[:1] in ("'", '"')):
            return "comment"
        if code.co_name == "<module>":
            if text.startswith(("def ", "async def ", "class ", "@")):
                return "definition"
            if text.startswith(("import ", "from ")):
                return "import"
            if text.startswith(("try:", "finally:", "else:")) or (text.startswith("except") and text.endswith(":")):
                return "control"
            return "module_runtime"
        return "function_runtime" if code.co_flags & CO_OPTIMIZED else "class_body"

    def group_by_test(self, calls, tid):
        """Puts each test's top-level calls under a node for the test."""
        pending = [(t["seq"], i) for i, t in enumerate(tests) if t["tid"] == tid]
        grouped, nodes = [], {}

        def open_test(index):
            test = tests[index]
            nodes[index] = {"name": test["nodeid"], "file": self.os.path.normpath(test["file"]),
                            "line": test["line"], "external": False, "call_type": "test",
                            "parent_location": None, "parent_call": None, "arguments": {}, "caller": None,
                            "children": []}
            grouped.append(nodes[index])

        for node in calls:
            while pending and pending[0][0] < node["_seq"]:
                open_test(pending.pop(0)[1])
            if node["_test"] in nodes:
                test = nodes[node["_test"]]
                test["children"].append(node)
                # The test's calls are called by the test (their caller, or
                # their callers' callers, up to the top of the run).
                for call in walk_calls([node]):
                    if call["caller"] is None:
                        call["caller"] = test["name"]
            else:
                grouped.append(node)
        for _, index in pending:
            open_test(index)
        return grouped

    def site_text(self, site):
        """parent_call: the call's source lines, stripped and joined until its
        brackets close (at most 10 lines), cut to 150 characters; the
        seed's placeholders for code without a source file."""
        filename, line, end = site
        if "<frozen" in filename:
            return "<frozen module call>"
        if filename.startswith("<"):
            return "<built-in or generated code>"
        try:
            with open(filename, encoding="utf-8", errors="replace") as f:
                lines = f.read().split("\n")
        except OSError:
            lines = []
        text, depth = "", 0
        for n in range(line, min(max(end, line), line + 9) + 1):
            if not 0 < n <= len(lines):
                break
            stripped = lines[n - 1].strip()
            if text and stripped:
                text += " "
            text += stripped
            depth += bracket_balance(stripped)
            if depth <= 0:
                break
        if not text:
            return "<source unavailable: %s:%d>" % (filename.rsplit("/", 1)[-1], line)
        return text if len(text) <= 150 else text[:147] + "..."

    def site_location(self, site):
        if not site or self.os.path.normpath(site[0]) == self.oracle_file:
            return None  # the oracle's own exec: no Python caller in a plain run
        return self.location(site[0], site[1])


def bracket_balance(line):
    """Net bracket depth of a line, skipping string literals and comments."""
    depth, quote, i = 0, None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c == "#":
            break
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    return depth


def walk_calls(nodes):
    for node in nodes:
        if "executed_line" in node:
            continue
        yield node
        yield from walk_calls(node["children"])


def strip_private(nodes):
    for node in nodes:
        node.pop("_seq", None)
        node.pop("_test", None)
        strip_private(node.get("children", []))


def main():
    global capture_arguments
    argv = sys.argv[1:]
    options = {"external_calls": True, "imports": True, "show_dunders": False}
    out = None
    scopes = []
    while argv and argv[0].startswith("--") and argv[0] != "--pytest":
        flag = argv.pop(0)
        if flag == "--out":
            out = argv.pop(0)
        elif flag == "--scope":
            scopes.append(argv.pop(0))
        elif flag == "--no-external-calls":
            options["external_calls"] = False
        elif flag == "--no-imports":
            options["imports"] = False
        elif flag == "--show-dunders":
            options["show_dunders"] = True
        elif flag == "--no-arg-values":
            capture_arguments = False
        elif flag == "--track-executed-lines":
            global track_lines
            track_lines = True
        elif flag == "--where":
            global where, where_out
            file, line, nth = argv.pop(0).rsplit(":", 2)
            where = [file, int(line), int(nth), 0, None]
            track_lines = True
        else:
            raise SystemExit("oracle.py: unknown option " + flag)
    pytest_mode = argv[:1] == ["--pytest"]
    if not out or not scopes or not argv or argv == ["-m"]:
        raise SystemExit(__doc__)
    import os
    if where:
        where_out = out
        where[4] = Rules([os.path.abspath(scope) for scope in scopes], "", **options)
    if pytest_mode:
        script = ""
        exit_code = run_pytest(argv[1:])
    elif argv[0] == "-m":
        exit_code, script = run_module(argv[1], argv[2:])
        script = os.path.normpath(os.path.abspath(script))
    else:
        script = os.path.normpath(os.path.abspath(argv[0]))
        exit_code = run_script(script, argv[1:])

    import json
    rules = Rules([os.path.abspath(scope) for scope in scopes], script, **options)
    threads = []
    for tid in thread_order:
        calls = []
        rules.project(roots[tid], calls, False, False)
        calls = rules.group_by_test(calls, tid)
        strip_private(calls)
        if calls:
            threads.append(calls)
    with open(out, "w") as f:
        json.dump({"exit_code": exit_code, "threads": threads,
                   "tests": [{"nodeid": t["nodeid"], "outcome": t["outcome"]} for t in tests]}, f, indent=1)
    sys.stdout.flush()
    os._exit(exit_code)


if __name__ == "__main__":
    main()
