"""A minimal sys.settrace call recorder, standing in for the original
tracer's mechanism: one Python callback per call event that keeps an entry
(name, location, depth). The original did more per call (argument
formatting, source lookups), so it is slower than this.

usage: python3.15 settrace_baseline.py SCRIPT [ARGS...]
"""
import os
import sys

entries = []
depth = [0]


def tracer(frame, event, arg):
    if event == "call":
        code = frame.f_code
        entries.append((code.co_name, "%s:%d" % (code.co_filename, frame.f_lineno), depth[0]))
        depth[0] += 1
        return local
    return None


def local(frame, event, arg):
    if event == "return":
        depth[0] -= 1
    return local


def main():
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(script)
    with open(script) as f:
        code = compile(f.read(), script, "exec")
    sys.settrace(tracer)
    try:
        exec(code, {"__name__": "__main__", "__file__": script})
    finally:
        sys.settrace(None)
    print("settrace baseline: %d calls" % len(entries), file=sys.stderr)


main()
