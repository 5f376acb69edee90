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
    return subprocess.run([tool, "--python", env.python] + list(args), capture_output=True, text=True,
                          cwd=env.tmp, timeout=120)


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
        if (sorted(compute["args"]), sorted(compute["kwargs"])) != (["extra", "shapes"], ["factor", "options"]):
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
def bad_breakpoints_are_refused(env):
    script = env.script("shapes.py", PROGRAM)
    for args, phrase in ((["--line", "9", "--iterations", "1"], "needs --file F --line L --iterations N"),
                         (["--file", "nope.py", "--line", "9", "--iterations", "1"], "breakpoint file not found"),
                         (["--file", script, "--line", "0", "--iterations", "1"], "--line needs a whole number"),
                         (["--pid", "1", "--file", script, "--line", "9", "--iterations", "1"], "does not attach")):
        result = trace_where(env, *([script] if "--pid" not in args else []), *args)
        if result.returncode == 0 or phrase not in result.stderr:
            raise Failure("%s: exit %d, %s" % (args, result.returncode, result.stderr))


if __name__ == "__main__":
    sys.exit(cli_checks.main(CASES))
