# SPDX-License-Identifier: MIT
"""Child processes at scale: many of them, one after another and at once,
each with its own exact tree and nothing lost; nothing ever stopped, even
when the tool is killed; children that outlive the program.

usage: children_checks.py --tracer PATH --pytest-tracer PATH --python PATH CASE
       children_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import cli_checks  # noqa: E402
from checks import Cases, Failure  # noqa: E402
from cli_checks import need_root, no_loss, wait_until  # noqa: E402

CASES = Cases()
case = CASES.case

CHILD = """import sys

def work(n):
    return square(n) + 1

def square(n):
    return n * n

print(work(int(sys.argv[1])))
"""


def trace(env, *args, timeout=600):
    result = subprocess.run([env.tracer, "--python", env.python, "-o", "t.json"] + list(args), cwd=env.tmp,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise Failure("exit %d: %s" % (result.returncode, result.stderr[-3000:]))
    return result, json.load(open(os.path.join(env.tmp, "t.json")))


def entries_by_pid(document):
    by_pid = {}
    for entry in document["trace_data"]:
        by_pid.setdefault(entry["pid"], []).append(entry)
    return by_pid


def check_children(document, count):
    """Each child ran child.py N: <module> -> work(N) -> square(N), and nothing else."""
    meta = document["metadata"]
    root = meta["processes"][0]["pid"]
    children = [p for p in meta["processes"] if p["parent_pid"] == root]
    if len(children) != count or any(p["running_at_end"] for p in meta["processes"]):
        raise Failure("%d children listed (expected %d); running at end: %s" % (
            len(children), count, [p["pid"] for p in meta["processes"] if p["running_at_end"]]))
    by_pid = entries_by_pid(document)
    seen = set()
    for child in children:
        calls = by_pid.get(child["pid"], [])
        shape = [(e["name"], e["depth"]) for e in calls]
        if shape != [("<module>", 0), ("work", 1), ("square", 2)]:
            raise Failure("child %d traced %s" % (child["pid"], shape))
        n = calls[1]["arguments"]["n"]
        if calls[2]["arguments"] != {"n": n} or any(e["duration_ns"] is None for e in calls):
            raise Failure("child %d: %s" % (child["pid"], calls))
        seen.add(n)
    if seen != set(range(count)):
        raise Failure("the children's arguments: %d distinct of %d" % (len(seen), count))


@case
def a_thousand_children_one_after_another(env):
    need_root()
    env.script("child.py", CHILD)
    path = env.script("main.py", """import subprocess, sys
for i in range(1000):
    subprocess.run([sys.executable, "-S", "child.py", str(i)], check=True, stdout=subprocess.DEVNULL)
print("done")
""")
    result, document = trace(env, path)
    if result.stdout != "done\n":
        raise Failure("output %r" % result.stdout)
    no_loss(document)
    check_children(document, 1000)


@case
def fifty_children_at_once(env):
    need_root()
    env.script("child.py", CHILD.replace("print(", "import time\ntime.sleep(0.3)\nprint("))
    path = env.script("main.py", """import subprocess, sys
children = [subprocess.Popen([sys.executable, "-S", "child.py", str(i)], stdout=subprocess.PIPE, text=True)
            for i in range(50)]
print(sum(int(c.communicate()[0]) for c in children))
""")
    result, document = trace(env, path)
    if result.stdout != "%d\n" % sum(i * i + 1 for i in range(50)):
        raise Failure("output %r" % result.stdout)
    no_loss(document)
    check_children(document, 50)


@case
def two_hundred_children_that_are_not_python(env):
    need_root()
    path = env.script("main.py", """import subprocess
for _ in range(200):
    subprocess.run(["/bin/true"], check=True)
print("done")
""")
    result, document = trace(env, path)
    meta = document["metadata"]
    children = [p for p in meta["processes"] if p["parent_pid"] == meta["processes"][0]["pid"]]
    if result.stdout != "done\n" or len(children) != 200 or any(p["running_at_end"] for p in children):
        raise Failure("output %r, %d children, running at end %s" % (
            result.stdout, len(children), [p["pid"] for p in children if p["running_at_end"]]))
    no_loss(document)


FORK_LOOP = """import os, sys
def child():
    return 7
print("started", flush=True)
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        child()
        os._exit(0)
    os.waitpid(pid, 0)
open("done", "w").close()
"""


def descendants(pid):
    """The processes whose ancestry reaches `pid`, with their states."""
    parents, states = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)], states[int(entry)] = int(fields[1]), fields[0]
    found = {}
    for p in parents:
        q = p
        while q in parents and q != pid and q > 1:
            q = parents[q]
        if q == pid and p != pid:
            found[p] = states[p]
    return found


def pid_of_program(tool_pid):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == tool_pid:
                        with open("/proc/%s/cmdline" % entry, "rb") as c:
                            if b"main.py" in c.read():
                                return int(entry)
            except OSError:
                pass
    return None


def check_left_running(env, program_pid):
    """A second after the tool is gone: nothing of the program's is stopped,
    and the program finishes its loop on its own."""
    time.sleep(1)
    stopped = {p: s for p, s in descendants(program_pid).items() if s in ("T", "t")}
    if stopped or (os.path.exists("/proc/%d" % program_pid) and open(
            "/proc/%d/stat" % program_pid).read().rsplit(")", 1)[1].split()[0] in ("T", "t")):
        raise Failure("stopped after the tool was killed: program %d, descendants %s" % (program_pid, stopped))
    if not wait_until(lambda: os.path.exists(os.path.join(env.tmp, "done")), timeout=120):
        raise Failure("the program did not finish on its own")


@case
def killed_tool_leaves_no_process_stopped(env):
    need_root()
    path = env.script("main.py", FORK_LOOP)
    tool = subprocess.Popen([env.tracer, "--python", env.python, "-o", "t.json", path, "400"], cwd=env.tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if tool.stdout.readline() != "started\n":
        raise Failure("the program did not start")
    program = pid_of_program(tool.pid)
    time.sleep(0.3)  # in the middle of its forks
    tool.kill()
    tool.wait()
    if program is None:
        raise Failure("the program's process was not found")
    check_left_running(env, program)


@case
def killed_attached_tool_leaves_no_process_stopped(env):
    need_root()
    path = env.script("main.py", FORK_LOOP)
    program = subprocess.Popen([env.python, path, "4000"], cwd=env.tmp, stdout=subprocess.PIPE, text=True)
    try:
        program.stdout.readline()
        tool = subprocess.Popen([env.tracer, "--pid", str(program.pid), "-o", "t.json"], cwd=env.tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in tool.stderr:  # until it has attached
            if "attached to pid" in line:
                break
        time.sleep(0.5)
        tool.kill()
        tool.wait()
        check_left_running(env, program.pid)
        if program.wait(timeout=120) != 0:
            raise Failure("the program failed after the tool was killed")
    finally:
        if program.poll() is None:
            program.kill()


@case
def a_parent_waiting_with_wuntraced_sees_no_stop(env):
    need_root()
    path = env.script("main.py", """import os
def child():
    return sum(range(10))
stops = 0
for _ in range(30):
    pid = os.fork()
    if pid == 0:
        child()
        os._exit(0)
    while True:
        _, status = os.waitpid(pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            stops += 1
            os.kill(pid, 18)  # SIGCONT, so as not to hang
            continue
        break
print("stops", stops)
""")
    result, document = trace(env, path)
    if result.stdout != "stops 0\n":
        raise Failure("the parent saw its children stopped: %r" % result.stdout)
    no_loss(document)
    if len([e for e in document["trace_data"] if e["name"] == "child"]) != 30:
        raise Failure("not every child's call was traced")


OUTLIVES = """import subprocess, sys
subprocess.Popen([sys.executable, "-S", "late.py"])
print("main done")
"""

LATE = """import time
def late():
    return 1
time.sleep(1.5)
late()
"""


@case
def children_that_outlive_the_program(env):
    need_root()
    env.script("late.py", LATE)
    path = env.script("main.py", OUTLIVES)
    result, document = trace(env, path)
    late = [p for p in document["metadata"]["processes"] if p["parent_pid"]]
    if len(late) != 1 or not late[0]["running_at_end"] or "still running when tracing ended" not in result.stderr:
        raise Failure("default: processes %s, stderr %s" % (document["metadata"]["processes"], result.stderr))
    if any(e["name"] == "late" for e in document["trace_data"]):
        raise Failure("a call after the end was traced")
    time.sleep(2)  # the first run's child ends
    result, document = trace(env, "--wait-for-children", path)
    late = [p for p in document["metadata"]["processes"] if p["parent_pid"]]
    if len(late) != 1 or late[0]["running_at_end"] or "still running" in result.stderr:
        raise Failure("--wait-for-children: processes %s, stderr %s" % (document["metadata"]["processes"],
                                                                          result.stderr))
    if [e["pid"] for e in document["trace_data"] if e["name"] == "late"] != [late[0]["pid"]]:
        raise Failure("--wait-for-children did not trace the late call")
    no_loss(document)


@case
def cpython_test_json_under_trace_pytest(env):
    """CPython's own json tests, whose test_tool starts `python -m json.tool`
    children: the traced run ends as the plain one does, with pytest's exit
    code and counts."""
    need_root()
    stdlib = subprocess.run([env.python, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not os.path.isdir(os.path.join(stdlib, "test", "test_json")):
        raise Failure("CPython's test suite is not installed (scripts/provision_python.sh installs it)")
    pytest_args = ["-q", "-p", "no:cacheprovider", "test/test_json"]
    plain = subprocess.run([env.python, "-m", "pytest"] + pytest_args, cwd=stdlib, capture_output=True, text=True,
                           timeout=600)
    # The scope is the tests (run from the standard library's directory, the
    # default scope would be all of it: ten million calls).
    traced = subprocess.run([env.pytest, "--python", env.python, "--scope", "test/test_json",
                             "-o", os.path.join(env.tmp, "t.json")] + pytest_args,
                            cwd=stdlib, capture_output=True, text=True, timeout=600)

    def counts(output):
        summary = output.strip().splitlines()[-1]
        return summary.split(" in ")[0]  # "90 failed, 228 passed, 1 skipped, 96 subtests passed"

    if traced.returncode != plain.returncode or counts(traced.stdout) != counts(plain.stdout):
        raise Failure("plain: exit %d, %r; traced: exit %d, %r\n%s" % (
            plain.returncode, counts(plain.stdout), traced.returncode, counts(traced.stdout), traced.stderr[-2000:]))
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    no_loss(document)
    children = [p for p in document["metadata"]["processes"] if p["parent_pid"]]
    if not children or any(p["running_at_end"] for p in children):
        raise Failure("json.tool's processes: %s" % document["metadata"]["processes"])


if __name__ == "__main__":
    sys.exit(cli_checks.main(CASES))
