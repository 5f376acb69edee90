# SPDX-License-Identifier: MIT
"""trace_where against the interpreter's own view: the stack at a line's Nth
run equals what oracle.py --where sees there, hits on every thread count,
the program ends there (or goes on with --continue), and a breakpoint that
is never reached writes nothing and keeps the program's exit code.

usage: where_checks.py --tracer TRACE_PROGRAM --python PATH CASE
       where_checks.py --list
(trace_where is found next to trace_program.)
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import cli_checks  # noqa: E402
from checks import Cases, Failure  # noqa: E402
from cli_checks import need_root  # noqa: E402

CASES = Cases()
case = CASES.case

PROGRAM = """import sys


class Shape:
    def __init__(self, side):
        self.side = side

    def area(self, scale=1, *, unit="cm"):
        total = self.side * self.side
        return total * scale


def compute(shapes, *extra, factor=2, **options):
    results = [s.area(factor) for s in shapes]
    return sum(results)


def walk(n):
    if n:
        return walk(n - 1)
    return compute([Shape(2), Shape(3)], 1, verbose=True)


print("before", flush=True)
print("total", walk(int(sys.argv[1])))
print("after")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""
AREA_LINE = 9  # total = self.side * self.side

THREADS = """import threading


def work(n):
    for i in range(n):
        value = i * 2
    return value


threads = [threading.Thread(target=work, args=(3,)) for _ in range(2)]
for t in threads:
    t.start()
    t.join()
print("done")
"""
THREAD_LINE = 6  # value = i * 2


def trace_where(env, *args):
    tool = os.path.join(os.path.dirname(env.tracer), "trace_where")
    python = [] if "--pid" in args else ["--python", env.python]  # a running process has its own
    return subprocess.run([tool] + python + list(args), capture_output=True, text=True, cwd=env.tmp, timeout=120)


def oracle_stack(env, script, line, nth, *args):
    out = os.path.join(env.tmp, "oracle.json")
    subprocess.run([env.python, os.path.join(HERE, "oracle.py"), "--out", out, "--scope", env.tmp,
                    "--where", "%s:%d:%d" % (script, line, nth), script] + list(args),
                   capture_output=True, text=True, cwd=env.tmp, timeout=120, check=True)
    return json.load(open(out))


def traced_frames(document):
    return [{key: frame[key] for key in ("name", "qualname", "location", "parent_location", "depth")}
            for frame in document["trace_data"]]


@case
def stack_equals_the_oracles(env):
    need_root()
    script = env.script("shapes.py", PROGRAM)
    for nth in (1, 2):
        result = trace_where(env, script, "3", "--file", script, "--line", str(AREA_LINE), "--iterations", str(nth),
                             "-o", "where.json")
        if result.returncode != 0:
            raise Failure("exit %d: %s" % (result.returncode, result.stderr))
        lines = result.stdout.splitlines()
        if lines[0] != "before" or "after" in lines or any(line.startswith("total ") for line in lines):
            raise Failure("the program did not end at the breakpoint:\n" + result.stdout)
        document = json.load(open(os.path.join(env.tmp, "where.json")))
        expected = oracle_stack(env, script, AREA_LINE, nth, "3")
        if traced_frames(document) != expected["frames"]:
            raise Failure("hit %d: the stack differs\n  oracle %s\n  trace  %s" % (
                nth, json.dumps(expected["frames"], indent=1), json.dumps(traced_frames(document), indent=1)))
        meta = document["metadata"]
        if (meta["breakpoint"], meta["iterations"], meta["total_frames"]) != (
                "%s:%d" % (script, AREA_LINE), nth, len(expected["frames"])):
            raise Failure("metadata: %s" % meta)
        area = document["trace_data"][0]
        if (area["args"], area["kwargs"], area["call"], area["call_type"]) != (
                {"scale": 2}, {"unit": "cm"}, "total = self.side * self.side", "method"):
            raise Failure("the breakpoint's frame: %s" % area)
        compute = document["trace_data"][1]
        if (sorted(compute["args"]), sorted(compute["kwargs"])) != (["*extra", "shapes"], ["**options", "factor"]):
            raise Failure("compute's args and kwargs: %s" % compute)


@case
def hits_on_every_thread_count(env):
    need_root()
    script = env.script("threads.py", THREADS)
    result = trace_where(env, script, "--file", script, "--line", str(THREAD_LINE), "--iterations", "5",
                         "-o", "where.json")
    if result.returncode != 0:
        raise Failure("exit %d: %s" % (result.returncode, result.stderr))
    document = json.load(open(os.path.join(env.tmp, "where.json")))
    expected = oracle_stack(env, script, THREAD_LINE, 5)
    if traced_frames(document) != expected["frames"]:
        raise Failure("the stack differs\n  oracle %s\n  trace  %s" % (expected["frames"], traced_frames(document)))
    if document["metadata"]["thread_id"] == document["metadata"]["pid"]:
        raise Failure("the 5th run of the line is on the second thread, not the main one: %s" % document["metadata"])


@case
def a_forked_child_is_not_the_program(env):
    """Hits are counted in the process trace_where started: a forked child
    runs the line too, and neither stops nor counts (it ends as it would)."""
    need_root()
    script = env.script("forks.py", """import os


def job(x):
    return x * 2


pid = os.fork()
if pid == 0:
    for i in range(3):
        job(i)
    os._exit(7)
print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
job(10)
print("parent done")
""")
    result = trace_where(env, script, "--file", script, "--line", "5", "--iterations", "1", "-o", "where.json")
    if result.returncode != 0 or "child 7" not in result.stdout or "parent done" in result.stdout:
        raise Failure("exit %d\n%s\n%s" % (result.returncode, result.stdout, result.stderr))
    document = json.load(open(os.path.join(env.tmp, "where.json")))
    if [f["location"] for f in document["trace_data"]] != ["forks.py:5", "forks.py:14"] or \
            document["metadata"]["pid"] != document["metadata"]["thread_id"]:
        raise Failure("the stack: %s" % json.dumps(document["trace_data"])[:500])


@case
def never_reached_writes_nothing(env):
    need_root()
    script = env.script("shapes.py", PROGRAM)
    result = trace_where(env, script, "0", "3", "--file", script, "--line", str(AREA_LINE), "--iterations", "50",
                         "-o", "where.json")
    if result.returncode != 3 or "after" not in result.stdout:
        raise Failure("the program's exit code and output: %d\n%s" % (result.returncode, result.stdout))
    if "ran 2 times, not 50" not in result.stderr or os.path.exists(os.path.join(env.tmp, "where.json")):
        raise Failure("not reached, yet:\n" + result.stderr)


@case
def continue_lets_the_program_run_on(env):
    need_root()
    script = env.script("shapes.py", PROGRAM)
    result = trace_where(env, script, "1", "4", "--file", script, "--line", str(AREA_LINE), "--iterations", "1",
                         "--continue")
    if result.returncode != 4 or "after" not in result.stdout:
        raise Failure("with --continue the program should run to its end: %d\n%s" % (result.returncode,
                                                                                       result.stdout))
    document = json.load(open(os.path.join(env.tmp, "trace_where_output_shapes.json")))  # the default name
    if document["metadata"]["hits"] != 2 or document["trace_data"][0]["location"] != "shapes.py:%d" % AREA_LINE:
        raise Failure("the document: %s" % document["metadata"])


@case
def under_pytest_the_test_is_named(env):
    need_root()
    project = os.path.join(env.tmp, "project")
    shutil.copytree(os.path.join(HERE, "pytest_project"), project)
    tool = os.path.join(os.path.dirname(env.tracer), "trace_where_pytest")

    def run(nth):
        return subprocess.run([tool, "--python", env.python, "-q", "-p", "no:cacheprovider", "tests/test_math.py",
                               "--file", "calc.py", "--line", "5", "--iterations", str(nth)],
                              capture_output=True, text=True, cwd=project, timeout=120)
    # add() runs once in test_add, then three times under mean() in test_mean[values0-2].
    result = run(2)
    if result.returncode != 0:
        raise Failure("exit %d: %s" % (result.returncode, result.stderr))
    document = json.load(open(os.path.join(project, "trace_where_pytest_output_calc.json")))
    names = [frame["name"] for frame in document["trace_data"]]
    if document["metadata"].get("test") != "tests/test_math.py::test_mean[values0-2]" or \
            names != ["add", "add_all", "mean", "test_mean"]:
        raise Failure("test %s, frames %s" % (document["metadata"].get("test"), names))
    os.unlink(os.path.join(project, "trace_where_pytest_output_calc.json"))
    result = run(100)  # never reached: pytest's own exit code (a test fails on purpose)
    if result.returncode != 1 or os.path.exists(os.path.join(project, "trace_where_pytest_output_calc.json")):
        raise Failure("not reached: exit %d\n%s" % (result.returncode, result.stderr))


@case
def attached_the_stack_is_taken_and_the_process_runs_on(env):
    """--pid --continue: the breakpoint in a running process; the session
    ends at the hit, the process goes on, untouched (every tick right)."""
    need_root()
    target, output = cli_checks.start_loop(env)
    try:
        loop = os.path.join(env.tmp, "loop.py")
        result = trace_where(env, "--pid", str(target.pid), "--file", loop, "--line", "4", "--iterations", "3",
                             "--continue", "-o", "where.json")
        if result.returncode != 0:
            raise Failure("exit %d: %s" % (result.returncode, result.stderr))
        document = json.load(open(os.path.join(env.tmp, "where.json")))
        names = [frame["name"] for frame in document["trace_data"]]
        if names[:3] != ["helper", "step", "main"] or document["trace_data"][0]["location"] != "loop.py:4":
            raise Failure("the stack: %s" % names)
        if target.poll() is not None:
            raise Failure("the process ended with the session")
    finally:
        cli_checks.stop_loop(env, target)
    cli_checks.check_loop_output(output, target)


@case
def a_breakpoint_left_behind_never_ends_the_program(env):
    """The session ends before the Nth hit: once the tool is gone, the line
    script in the process must neither stop it nor keep costing."""
    need_root()
    path = env.script("ticks.py", """import os, sys, time


def tick(i):
    return i + 1


i = 0
while not os.path.exists("go"):
    i = tick(i)
    time.sleep(0.005)
for _ in range(500):  # far past the breakpoint's 100th hit, with the tool gone
    i = tick(i)
print([sys.monitoring.get_tool(t) for t in range(6)], flush=True)
sys.exit(3)
""")
    out = open(os.path.join(env.tmp, "ticks.out"), "w")
    target = subprocess.Popen([env.python, path], stdout=out, cwd=env.tmp)
    try:
        result = trace_where(env, "--pid", str(target.pid), "--file", path, "--line", "5", "--iterations", "100",
                             "--duration", "0.3")
        if "not 100: no stack" not in result.stderr:
            raise Failure("the session: exit %d\n%s" % (result.returncode, result.stderr))
    finally:
        open(os.path.join(env.tmp, "go"), "w").close()
        code = target.wait(timeout=60)
    if code != 3:
        raise Failure("the program ended with %d, not its own 3: the breakpoint outlived the tool" % code)
    if open(out.name).read().strip() != "[None, None, None, None, None, None]":
        raise Failure("sys.monitoring tools left: " + open(out.name).read())


@case
def attached_executed_lines_are_tracked_and_then_freed(env):
    """trace_program --pid --track-executed-lines: the lines of the loop, in
    order, and after the tool is gone the process's sys.monitoring tool is
    freed (the loop asks for every tool id at the end and prints them)."""
    need_root()
    path = env.script("watched_loop.py", """import os, sys, time

def helper(i):
    return i * 2

i = 0
while not os.path.exists("stop"):
    helper(i)
    i += 1
    time.sleep(0.001)
# A thousand more callbacks' worth of lines lets the script see the tool gone.
for i in range(3000):
    helper(i)
print([sys.monitoring.get_tool(t) for t in range(6)], flush=True)
""")
    out = open(os.path.join(env.tmp, "watched.out"), "w")
    target = subprocess.Popen([env.python, path], stdout=out, cwd=env.tmp)
    try:
        result = subprocess.run([env.tracer, "--pid", str(target.pid), "--track-executed-lines", "--duration", "1",
                                 "-o", "lines.json"], capture_output=True, text=True, cwd=env.tmp, timeout=120)
        if result.returncode != 0:
            raise Failure("exit %d: %s" % (result.returncode, result.stderr))
        document = json.load(open(os.path.join(env.tmp, "lines.json")))
        lines = [n for e in document["trace_data"] if e["event"] == "executed_line" and e["function"] == "helper"
                 for n in e["lines"]]
        if not lines or set(lines) != {4}:
            raise Failure("helper's executed lines: %s" % lines[:20])
    finally:
        open(os.path.join(env.tmp, "stop"), "w").close()
        target.wait(timeout=60)
    tools = open(out.name).read().strip()
    if tools != "[None, None, None, None, None, None]":
        raise Failure("sys.monitoring tools after the tool was gone: " + tools)


@case
def remote_debugging_disabled_is_said(env):
    """A program started with remote debugging disabled cannot run the tool's
    script: one clear warning, the reason in the document, the program's own
    exit code; trace_where writes nothing."""
    need_root()
    script = env.script("shapes.py", PROGRAM)
    disabled = dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1")
    result = subprocess.run([env.tracer, "--python", env.python, "--track-executed-lines", "-o", "lines.json",
                             script, "0", "5"], capture_output=True, text=True, cwd=env.tmp, env=disabled,
                            timeout=120)
    if result.returncode != 5 or result.stderr.count("executed lines are not tracked") != 1 or \
            "remote debugging disabled" not in result.stderr:
        raise Failure("exit %d:\n%s" % (result.returncode, result.stderr))
    meta = json.load(open(os.path.join(env.tmp, "lines.json")))["metadata"]
    if "remote debugging disabled" not in (meta.get("executed_lines_problem") or ""):
        raise Failure("executed_lines_problem: %s" % meta.get("executed_lines_problem"))
    tool = os.path.join(os.path.dirname(env.tracer), "trace_where")
    where = subprocess.run([tool, "--python", env.python, script, "0", "5", "--file", script, "--line",
                            str(AREA_LINE), "--iterations", "1"], capture_output=True, text=True, cwd=env.tmp,
                           env=disabled, timeout=120)
    if where.returncode != 5 or "remote debugging disabled" not in where.stderr or \
            os.path.exists(os.path.join(env.tmp, "trace_where_output_shapes.json")):
        raise Failure("trace_where: exit %d:\n%s" % (where.returncode, where.stderr))


@case
def bad_breakpoints_are_refused(env):
    script = env.script("shapes.py", PROGRAM)
    for args, phrase in ((["--line", "9", "--iterations", "1"], "needs --file F --line L --iterations N"),
                         (["--file", "nope.py", "--line", "9", "--iterations", "1"], "breakpoint file not found"),
                         (["--file", script, "--line", "0", "--iterations", "1"], "--line needs a whole number"),
                         (["--pid", "1", "--file", script], "needs --file F --line L --iterations N")):
        result = trace_where(env, *([script] if "--pid" not in args else []), *args)
        if result.returncode == 0 or phrase not in result.stderr:
            raise Failure("%s: exit %d, %s" % (args, result.returncode, result.stderr))


if __name__ == "__main__":
    sys.exit(cli_checks.main(CASES))
