"""The reference the product replaces: a sys.settrace tracer doing per call
what the original tool's hook did (../shared/reference/seed-spec.md §2-3):
normalise the callee's path and test the scope, find the caller, read the
call site's source line, capture and format the arguments, classify the
call, count calls per function, keep the depth stack; then write the JSON
document (indented, as the original did).

usage: python3.15 seed_tracer.py --scope DIR -o FILE SCRIPT [ARGS...]
       python3.15 seed_tracer.py --scope DIR -o FILE -m MODULE [ARGS...]
"""
import inspect
import json
import linecache
import os
import runpy
import sys
import threading

COMPREHENSIONS = {"<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>"}


class SeedTracer:
    def __init__(self, scope):
        self.scope = scope
        self.entries = []
        self.depth = 0
        self.stack = []
        self.counts = {}
        self.entered = False

    def in_scope(self, path):
        if not path or "site-packages" in path or "lib/python" in path:
            return False
        return path.startswith(self.scope)

    def format_value(self, value):
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return value if len(value) <= 100 else value[:97] + "..."
        if isinstance(value, (list, tuple)):
            return "%s with %d items" % (type(value).__name__, len(value)) if len(value) > 5 else [
                self.format_value(v) for v in value[:3]]
        if isinstance(value, dict):
            return "dict with %d keys" % len(value) if len(value) > 3 else {
                str(k): self.format_value(v) for k, v in value.items()}
        try:
            text = repr(value)
        except Exception:  # a half-built object
            text = "x" * 51
        return "<%s object>" % type(value).__name__ if len(text) > 50 else text

    def arguments(self, frame):
        info = inspect.getargvalues(frame)
        names = list(info.args) + [n for n in (info.varargs, info.keywords) if n]
        return {name: {"value": self.format_value(info.locals.get(name)),
                       "type": type(info.locals.get(name)).__name__} for name in names}

    def classify(self, name, callee, caller_file, parent_call, external):
        if "<frozen importlib._bootstrap>" in (caller_file or "") or "<frozen importlib._bootstrap>" in callee \
                or name == "<module>" or "importlib" in callee:
            return "import"
        stripped = parent_call.strip()
        if not name.startswith("__") and stripped.startswith("class ") and ":" in stripped:
            return "class_declaration"
        if name == "__init__":
            return "class_instantiation"
        if name == "__call__":
            return "callable_object"
        if name.startswith("__") and name.endswith("__"):
            return "special_method"
        if name == "<lambda>":
            return "lambda_function"
        return "external_call" if external else "function_call"

    def hook(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        callee = code.co_filename
        if not callee.startswith("<"):
            callee = os.path.normpath(os.path.abspath(callee))
        caller = frame.f_back
        caller_file = caller.f_code.co_filename if caller else None
        callee_in = self.in_scope(callee)
        if callee_in:
            self.entered = True
        external = not callee_in and self.entered and self.in_scope(caller_file)
        if not callee_in and not external:
            return None
        name = code.co_name
        if (name.startswith("__") and name.endswith("__") and name not in ("__init__", "__call__")) \
                or name in COMPREHENSIONS:
            return self.follow if callee_in else None
        parent_call = linecache.getline(caller_file, caller.f_lineno).strip() if caller else ""
        call_type = self.classify(name, callee, caller_file, parent_call, external)
        location = "%s:%d" % (os.path.relpath(callee, self.scope) if callee_in else callee, frame.f_lineno)
        entry = {"event": "function_call", "location": location,
                 "parent_location": "%s:%d" % (caller_file, caller.f_lineno) if caller else None,
                 "parent_call": parent_call, "name": name, "arguments": self.arguments(frame),
                 "depth": self.depth, "is_external": external, "call_type": call_type, "args": {}, "kwargs": {}}
        if call_type not in ("import", "class_declaration"):
            key = "%s@%s:%d" % (name, callee, frame.f_lineno)
            self.counts[key] = self.counts.get(key, 0) + 1
            entry["number_of_calls"] = self.counts[key]
        entry["kwargs"] = entry["arguments"]
        self.entries.append(entry)
        if external:
            return None
        self.stack.append((callee, name))
        self.depth += 1
        return self.follow

    def follow(self, frame, event, arg):
        if event == "return" and self.depth > 0:
            key = (os.path.normpath(os.path.abspath(frame.f_code.co_filename)), frame.f_code.co_name)
            if self.stack and self.stack[-1] == key:
                self.stack.pop()
                self.depth -= 1
        return self.follow


def main():
    args = sys.argv[1:]
    scope = output = None
    while args and args[0] in ("--scope", "-o"):
        if args[0] == "--scope":
            scope = os.path.abspath(args[1])
        else:
            output = args[1]
        args = args[2:]
    tracer = SeedTracer(scope or os.getcwd())
    sys.settrace(tracer.hook)
    threading.settrace(tracer.hook)
    try:
        if args[0] == "-m":
            sys.argv = args[1:]
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            script = os.path.abspath(args[0])
            sys.argv = args
            sys.path[0] = os.path.dirname(script)
            runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
    finally:
        sys.settrace(None)
        threading.settrace(None)
    if output:
        with open(output, "w") as f:
            json.dump({"metadata": {"scope_path": tracer.scope, "total_frames": len(tracer.entries)},
                       "trace_data": tracer.entries}, f, indent=2, default=str)


main()
