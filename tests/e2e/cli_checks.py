# SPDX-License-Identifier: MIT
"""trace_program's behaviour at its edges: every bad input gives one clear
message and a non-zero exit without leaving output behind; the traced
program's arguments, output and exit code pass through.

usage: cli_checks.py --tracer PATH --python PATH CASE
       cli_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import argparse
import contextlib
import gzip
import json
import os
import pty
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import compare  # noqa: E402
from checks import Cases, Failure, Skip, remove_tree, run  # noqa: E402

NOBODY = 65534
CASES = Cases()
case = CASES.case


class Env:
    def __init__(self, tracer, pytest, python, tmp):
        self.tracer = tracer
        self.pytest = pytest
        self.python = python
        self.tmp = tmp

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o644)
        return path

    def run(self, *args, as_nobody=False, env=None, use_python=True, tool=None):
        command = [tool or self.tracer] + (["--python", self.python] if use_python else []) + list(args)
        if as_nobody:
            command = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + command
        return subprocess.run(command, capture_output=True, text=True, cwd=self.tmp,
                              env=dict(os.environ, **(env or {})), timeout=120)


def expect_failure(result, code, *phrases, tool="trace_program"):
    """One clear message: the tool's name, the phrases, no traceback."""
    if result.returncode != code:
        raise Failure("exit code %d, expected %d\nstderr: %s" % (result.returncode, code, result.stderr))
    for phrase in phrases:
        if phrase not in result.stderr:
            raise Failure("stderr lacks %r:\n%s" % (phrase, result.stderr))
    if tool + ":" not in result.stderr or "Traceback" in result.stderr:
        raise Failure("not one clear message:\n" + result.stderr)


def expect_no_files(directory, before):
    after = set(os.listdir(directory))
    if after - before:
        raise Failure("left files behind: %s" % sorted(after - before))


def no_loss(document):
    lost = compare.losses(document)
    if lost:
        raise Failure("lost or unmatched: %s" % lost)


def need_root():
    if os.geteuid() != 0:
        raise Skip("runs trace_program as root and as another user; needs root")


@case
def missing_script(env):
    before = set(os.listdir(env.tmp))
    result = env.run("-o", "out.json", "no_such_script.py")
    expect_failure(result, 1, "script not found: no_such_script.py")
    expect_no_files(env.tmp, before)


@case
def script_is_a_directory(env):
    os.mkdir(os.path.join(env.tmp, "adir"))
    expect_failure(env.run("adir"), 1, "not a regular file: adir")


@case
def unreadable_script(env):
    need_root()
    path = env.script("secret.py", "print('hi')\n")
    os.chmod(path, 0)
    os.chmod(env.tmp, 0o755)
    expect_failure(env.run(path, as_nobody=True), 1, "cannot read script", "Permission denied")


@case
def not_root(env):
    need_root()
    path = env.script("hello.py", "print('hi')\n")
    os.chmod(env.tmp, 0o755)
    expect_failure(env.run(path, as_nobody=True), 1, "needs root", "CAP_BPF", "sudo trace_program")


COMPRESSIBLE = """def square(n):
    return n * n

def main():
    return [square(i) for i in range(200)]

main()
"""


@case
def compressed_output_reads_back(env):
    """-o FILE.gz and -o FILE.zst write the same document, compressed; a
    plain name is not compressed."""
    need_root()
    path = env.script("squares.py", COMPRESSIBLE)
    trees = {}
    for name in ("t.json", "t.json.gz", "t.json.zst"):
        result = env.run("-o", name, path)
        if result.returncode != 0:
            raise Failure("-o %s: exit code %d: %s" % (name, result.returncode, result.stderr))
        data = open(os.path.join(env.tmp, name), "rb").read()
        if name.endswith(".gz"):
            if data[:2] != b"\x1f\x8b":
                raise Failure("%s is not gzip data" % name)
            data = gzip.decompress(data)
        elif name.endswith(".zst"):
            if data[:4] != b"\x28\xb5\x2f\xfd":
                raise Failure("%s is not zstd data" % name)
            data = subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True, check=True).stdout
        document = json.loads(data)
        no_loss(document)
        trees[name] = compare.render(compare.trees_from_trace(document))
        if len([e for e in document["trace_data"] if e["name"] == "square"]) != 200:
            raise Failure("%s: not every call is in the trace" % name)
    if not trees["t.json"] == trees["t.json.gz"] == trees["t.json.zst"]:
        raise Failure("the compressed traces differ from the plain one")


@case
def other_formats_hold_the_calls_of_the_trace(env):
    """--format chrome, speedscope and collapsed write the calls the JSON
    document holds, in those formats (docs/exports.md; the browser test
    loads them with each format's own reader); compressed by name too. A
    format without -o, or an unknown one, is refused."""
    need_root()
    path = env.script("squares.py", COMPRESSIBLE)
    result = env.run("-o", "t.json", path)
    if result.returncode != 0:
        raise Failure("-o t.json: %s" % result.stderr)
    calls = json.load(open(os.path.join(env.tmp, "t.json")))["trace_data"]
    for name, form in (("t.trace.json.gz", "chrome"), ("t.speedscope.json", "speedscope"), ("t.folded", "collapsed")):
        result = env.run("--format", form, "-o", name, path)
        if result.returncode != 0:
            raise Failure("--format %s: exit code %d: %s" % (form, result.returncode, result.stderr))
        data = open(os.path.join(env.tmp, name), "rb").read()
        if form == "chrome":
            events = json.loads(gzip.decompress(data))["traceEvents"]
            boxes = [e for e in events if e["ph"] == "X"]
            if [(e["name"], e["cat"]) for e in boxes] != [(c["qualname"], c["call_type"]) for c in calls]:
                raise Failure("the Chrome trace's events are not the trace's calls")
            named = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
            if {e["tid"] for e in boxes} - named or any(e["dur"] < 0 for e in boxes):
                raise Failure("a thread without a name, or a negative duration")
        elif form == "speedscope":
            document = json.loads(data)
            frames = {(c["qualname"], c["location"].rsplit(":", 1)[0]) for c in calls}
            if sum(len(p["events"]) for p in document["profiles"]) != 2 * len(calls) or \
                    len(document["shared"]["frames"]) != len(frames):
                raise Failure("speedscope: not an open and a close per call, or not a frame per function")
        else:
            lines = data.decode().splitlines()
            if not all(re.fullmatch(r".+ \d+", line) for line in lines):
                raise Failure("a collapsed line is not 'stack count':\n" + "\n".join(lines[:5]))
            if not any(line.split(";")[-1].startswith("square (") and line.count(";") == 2 for line in lines):
                raise Failure("no <module>;main;square stack:\n" + "\n".join(lines))
    before = set(os.listdir(env.tmp))
    expect_failure(env.run("--format", "svg", "-o", "x.svg", path), 2, "--format is json, text, chrome")
    expect_failure(env.run("--format", "chrome", path), 2, "--format chrome writes a file: give -o FILE")
    expect_no_files(env.tmp, before)


@case
def missing_scope(env):
    path = env.script("hello.py", "print('hi')\n")
    expect_failure(env.run("--scope", "/no/such/dir", path), 1, "scope directory does not exist: /no/such/dir")


@case
def unwritable_output(env):
    need_root()
    path = env.script("hello.py", "print('hi')\n")
    expect_failure(env.run("-o", "/proc/pytrace-test.json", path), 1,
                   "cannot write output file /proc/pytrace-test.json")
    not_a_dir = env.script("plain.txt", "")
    expect_failure(env.run("-o", not_a_dir + "/x.json", path), 1, "cannot write output file")


@case
def missing_interpreter(env):
    need_root()
    path = env.script("hello.py", "print('hi')\n")
    env.python = "/no/such/python3.15"
    expect_failure(env.run(path), 1, "Python interpreter not found: /no/such/python3.15")


@case
def python_311_probes_do_not_fire(env):
    need_root()
    if not os.access("/usr/bin/python3.11", os.X_OK):
        raise Skip("Debian's /usr/bin/python3.11 is not installed")
    path = env.script("hello.py", "print('hi')\n")
    env.python = "/usr/bin/python3.11"
    expect_failure(env.run(path), 1, "is Python 3.11", "98894", "--python PATH")


@case
def python_313_has_no_probes(env):
    need_root()
    # No 3.12-3.14 exists on Debian 12: a stand-in answers the version
    # query as CPython 3.13 would, so the version gate is what is tested.
    fake = env.script("python3.13", "#!/bin/sh\necho '%s'\n" % json.dumps({
        "version": "3.13.1", "major": 3, "minor": 13, "executable": "/usr/bin/python3.13",
        "stdlib": "/usr/lib/python3.13", "platstdlib": "/usr/lib/python3.13",
        "shared": False, "libdir": "/usr/lib", "soname": ""}))
    os.chmod(fake, 0o755)
    path = env.script("hello.py", "print('hi')\n")
    env.python = fake
    expect_failure(env.run(path), 1, "is Python 3.13", "3.12 to 3.14 have no function probes",
                   "scripts/setup.sh")


@case
def interpreter_without_probes(env):
    need_root()
    # The provisioned 3.15 with its function__entry note renamed, beside a
    # link to its standard library so that it still starts.
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(env.python)))
    bindir = os.path.join(env.tmp, "usr", "bin")
    os.makedirs(bindir)
    os.symlink(os.path.join(prefix, "lib"), os.path.join(env.tmp, "usr", "lib"))
    stripped = os.path.join(bindir, "python3.15")
    with open(env.python, "rb") as f:
        binary = f.read()
    if binary.count(b"function__entry\0") != 1:
        raise Failure("expected one function__entry note in " + env.python)
    with open(stripped, "wb") as f:
        f.write(binary.replace(b"function__entry\0", b"function__xntry\0"))
    os.chmod(stripped, 0o755)
    path = env.script("hello.py", "print('hi')\n")
    env.python = stripped
    expect_failure(env.run(path), 1, "built without DTrace/SystemTap probes", "--with-dtrace")


@case
def no_script(env):
    expect_failure(env.run(), 2, "no script given")


@case
def unknown_option(env):
    expect_failure(env.run("--bogus", "a.py"), 2, "unknown option --bogus")


@case
def arguments_and_output_pass_through(env):
    need_root()
    path = env.script("args.py", "import sys\nprint(sys.argv[1:])\nprint('err', file=sys.stderr)\n")
    result = env.run(path, "alpha", "--beta", "3", "-o", "t.json", "--out", "x", "--", "-o", "y")
    if result.returncode != 0:
        raise Failure("exit code %d: %s" % (result.returncode, result.stderr))
    expected = "['alpha', '--beta', '3', '--out', 'x', '-o', 'y']\n"
    if result.stdout != expected:
        raise Failure("script saw %r, expected %r" % (result.stdout, expected))
    if "err\n" not in result.stderr:
        raise Failure("the script's stderr did not pass through: " + result.stderr)
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    if document["metadata"]["main_file"] != path or document["metadata"]["exit_code"] != 0:
        raise Failure("metadata: %s" % document["metadata"])


@case
def exit_code_passes_through_and_trace_is_written(env):
    need_root()
    path = env.script("fails.py", "import sys\ndef f():\n    sys.exit(3)\nf()\n")
    result = env.run("-o", "t.json", path)
    if result.returncode != 3:
        raise Failure("exit code %d, expected the script's 3" % result.returncode)
    names = [e["name"] for e in json.load(open(os.path.join(env.tmp, "t.json")))["trace_data"]]
    if names != ["<module>", "f"]:
        raise Failure("trace of a failing script: %s" % names)
    raising = env.script("raises.py", "raise RuntimeError('boom')\n")
    result = env.run("-o", "r.json", raising)
    if result.returncode != 1 or "RuntimeError: boom" not in result.stderr:
        raise Failure("an uncaught exception: exit code %d, stderr %s" % (result.returncode, result.stderr))
    if not os.path.exists(os.path.join(env.tmp, "r.json")):
        raise Failure("no trace written for a script that raised")


@case
def runs_as_the_sudo_user(env):
    need_root()
    os.chmod(env.tmp, 0o777)
    path = env.script("whoami.py", "import os\nprint(os.getuid(), os.getgid(), os.environ['HOME'])\n")
    result = env.run("-o", "t.json", path, env={"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY)})
    home = pwd.getpwuid(NOBODY).pw_dir
    if result.returncode != 0 or result.stdout != "%d %d %s\n" % (NOBODY, NOBODY, home):
        raise Failure("the script ran as %r (exit %d): %s" % (result.stdout, result.returncode, result.stderr))
    owner = os.stat(os.path.join(env.tmp, "t.json"))
    if (owner.st_uid, owner.st_gid) != (NOBODY, NOBODY):
        raise Failure("the trace belongs to %d:%d, not the sudo user" % (owner.st_uid, owner.st_gid))


@case
def console_tree_without_output_file(env):
    need_root()
    path = env.script("tree.py", "def a():\n    b()\ndef b():\n    pass\na()\n")
    result = env.run(path)
    lines = result.stdout.splitlines()
    expected = ["<module>  tree.py", "└── a  tree.py:1", "    └── b  tree.py:3"]
    got = [line.split("  (")[0] for line in lines]
    if result.returncode != 0 or got != expected:
        raise Failure("console tree:\n%s\nexpected the shape %s" % (result.stdout, expected))


# Threads named every way threading names them; the program prints the
# names it gave, in the order of the thread ids it started.
THREAD_NAMES = """import functools, threading

def process_items(n):
    return sum(range(n))

def deco(f):
    @functools.wraps(f)
    def wrapper(*a):
        return f(*a)
    return wrapper

@deco
def decorated_target(n):
    return n

def load_rows():
    yield 1
    yield 2

def load_records(*rows):
    return len(rows)

class Worker(threading.Thread):
    def __init__(self):
        super().__init__(name="worker-pool-connection-1")
    def run(self):
        process_items(3)

threads = [threading.Thread(target=process_items, args=(5,)),
           threading.Thread(target=process_items, args=(5,), name="explicitly-named-\u00fcn\u00efcode-thread"),
           threading.Thread(target=decorated_target, args=(1,)),
           Worker(),
           threading.Thread(target=load_records, args=load_rows()),
           threading.Thread(target=process_items, args=(5,), name=""),
           threading.Thread(target=process_items, args=(5,))]
threads[-1].name = "renamed-before-start-with-a-long-name"
for t in threads:
    t.start()
    t.join()
    print(t.native_id, t.name)
"""


@case
def thread_names_are_the_programs_own(env):
    need_root()
    path = env.script("names.py", THREAD_NAMES)
    for options in ([], ["--track-executed-lines"]):  # the tool's line callbacks are not the program's calls
        result = env.run("-o", "t.json", *options, path)
        if result.returncode != 0:
            raise Failure("exit code %d: %s" % (result.returncode, result.stderr))
        given = dict(line.split(" ", 1) for line in result.stdout.splitlines())
        threads = json.load(open(os.path.join(env.tmp, "t.json")))["metadata"]["threads"]
        traced = {str(t["thread_id"]): t["name"] for t in threads}
        for tid, name in given.items():
            # A decorated target runs `wrapper`, which says nothing of the rest of
            # "Thread-3 (decorated_target)": the kernel's 15 bytes stay.
            expected = name.encode()[:15].decode(errors="ignore") if "decorated" in name else name
            if traced.get(tid) != expected:
                raise Failure("%s: thread %s is named %r in the trace, the program named it %r (expected %r)"
                              % (options, tid, traced.get(tid), name, expected))


# ---- processes: attaching, signals, children ---------------------------

# Ticks every 20 ms, n times or until a file named "stop" appears.
LOOP = """import os, sys, time

def helper(i):
    return i * 2

def step(i):
    return helper(i) + 1

def main(n):
    for i in range(n):
        print("tick", i, step(i), flush=True)
        time.sleep(0.02)
        if os.path.exists("stop"):
            break

main(int(sys.argv[1]))
"""


def semaphore_address(python):
    """Where python:function__entry's semaphore is in a process of `python`
    (a non-PIE executable: addresses are as in the file)."""
    header = subprocess.run(["readelf", "-h", python], capture_output=True, text=True).stdout
    if "EXEC (Executable file)" not in header:
        raise Skip("the interpreter is position independent; this check reads a fixed address")
    notes = subprocess.run(["readelf", "-n", python], capture_output=True, text=True).stdout
    match = re.search(r"Name: function__entry\s+Location: \S+, Base: \S+, Semaphore: (0x[0-9a-f]+)", notes)
    if not match:
        raise Failure("no function__entry semaphore in " + python)
    return int(match.group(1), 16)


def semaphore(pid, address):
    """The probe semaphore's value in process `pid`: how many tracers hold it."""
    with open("/proc/%d/mem" % pid, "rb") as mem:
        mem.seek(address)
        return int.from_bytes(mem.read(2), "little")


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def start_loop(env):
    """A process that ticks until stop_loop(), however slow the machine (a minute at most)."""
    path = env.script("loop.py", LOOP)
    out = open(os.path.join(env.tmp, "loop.out"), "w")
    target = subprocess.Popen([env.python, path, "3000"], stdout=out, cwd=env.tmp)
    if not wait_until(lambda: os.path.getsize(out.name) > 0):
        raise Failure("the looping program did not start")
    return target, out.name


def stop_loop(env, target):
    open(os.path.join(env.tmp, "stop"), "w").close()
    target.wait(timeout=30)


def check_loop_output(path, target):
    """Every tick right, none missing, and the loop ended because it was told to."""
    lines = open(path).read().splitlines()
    expected = ["tick %d %d" % (i, 2 * i + 1) for i in range(len(lines))]
    if target.returncode != 0 or not lines or lines != expected or len(lines) >= 3000:
        raise Failure("the traced process's output changed (exit %s): %s ... (%d lines)" % (
            target.returncode, lines[-3:], len(lines)))


@case
def attach_and_detach(env):
    need_root()
    address = semaphore_address(env.python)
    target, output = start_loop(env)
    try:
        result = env.run("--pid", str(target.pid), "--duration", "0.5", "-o", "t.json", use_python=False)
        if result.returncode != 0:
            raise Failure("exit code %d: %s" % (result.returncode, result.stderr))
        if target.poll() is not None:
            raise Failure("the process did not run on after the detach")
        if not wait_until(lambda: semaphore(target.pid, address) == 0):
            raise Failure("the probes' semaphore is still held after the detach")
        document = json.load(open(os.path.join(env.tmp, "t.json")))
    finally:
        stop_loop(env, target)
    check_loop_output(output, target)
    meta = document["metadata"]
    lost = compare.losses(document)
    if lost or not meta["attached"] or meta["end_reason"] != "duration":
        raise Failure("metadata: loss %s, attached %s, end %s" % (lost, meta["attached"], meta["end_reason"]))
    # Frames that were running at the attach open the tree; each step()
    # the trace saw whole calls helper() once, from the line that calls it.
    entries = document["trace_data"]
    running = [e["name"] for e in entries if e.get("started_before_trace")]
    if running[:2] != ["<module>", "main"]:
        raise Failure("the frames running at the attach: %s" % running)
    steps = [e for e in entries if e["name"] == "step"]
    if not steps:
        raise Failure("no step() calls traced")
    for step in steps:
        children = [e for e in entries if e["parent_id"] == step["id"]]
        if step["duration_ns"] is not None and [c["name"] for c in children] != ["helper"]:
            raise Failure("step() at %s has children %s" % (step["start_ns"], children))
        if step["parent_location"] != "loop.py:11" or step["depth"] != 2:
            raise Failure("step() placed at depth %d from %s" % (step["depth"], step["parent_location"]))


LIBRARY_LOOP = """import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
import lib

def helper(i):
    return i * 2

def tick(i):
    print("tick", i, helper(i) + 1, flush=True)
    time.sleep(0.25)  # the frames running at the attach return once the verdicts are in
    return not os.path.exists("stop")

lib.loop(tick, int(sys.argv[1]))
"""

LIBRARY = """def loop(fn, n):
    for i in range(n):
        if not _level1(fn, i):
            break

def _level1(fn, i):
    return _level2(fn, i)

def _level2(fn, i):
    return fn(i)
"""


@case
def attach_inside_a_library_leaves_its_calls_out(env):
    """Attached to a process running in a library out of the scope (its
    site-packages), which calls back into the scope: the library's calls to
    itself are left out in the kernel, also those already running at the
    attach, and the callbacks are still placed exactly."""
    need_root()
    os.makedirs(os.path.join(env.tmp, "site-packages"), exist_ok=True)
    env.script("site-packages/lib.py", LIBRARY)
    path = env.script("loop.py", LIBRARY_LOOP)
    out = open(os.path.join(env.tmp, "loop.out"), "w")
    target = subprocess.Popen([env.python, path, "3000"], stdout=out, cwd=env.tmp)
    try:
        if not wait_until(lambda: os.path.getsize(out.name) > 0):
            raise Failure("the looping program did not start")
        result = env.run("--pid", str(target.pid), "--duration", "2", "-o", "t.json", use_python=False)
        if result.returncode != 0:
            raise Failure("exit code %d: %s" % (result.returncode, result.stderr))
        document = json.load(open(os.path.join(env.tmp, "t.json")))
    finally:
        stop_loop(env, target)
    check_loop_output(out.name, target)
    meta = document["metadata"]
    lost = compare.losses(document)
    if lost:
        raise Failure("loss: %s" % lost)
    if not meta["left_out"] or meta["left_out"]["probe_hits_in_kernel"] < 10:
        raise Failure("the library's calls to itself were not left out in the kernel: %s" % meta["left_out"])
    entries = document["trace_data"]
    names = [e["name"] for e in entries]
    if "_level1" in names or "_level2" in names:
        raise Failure("calls of the library from the library were logged: %s" % sorted(set(names)))
    running = [e["name"] for e in entries if e.get("started_before_trace")]
    if running[:2] != ["<module>", "loop"]:
        raise Failure("the frames running at the attach: %s" % running)
    ticks = [e for e in entries if e["name"] == "tick" and e["duration_ns"] is not None
             and not e.get("started_before_trace")]
    if len(ticks) < 3:
        raise Failure("%d whole tick() calls traced" % len(ticks))
    for tick in ticks:
        children = [e["name"] for e in entries if e["parent_id"] == tick["id"]]
        if children != ["helper", "exists"]:
            raise Failure("tick() at %s has children %s" % (tick["start_ns"], children))
        # Called by _level2, which is left out: its line is still the call site.
        if not tick["parent_location"].endswith("lib.py:10") or tick["depth"] != 1:
            raise Failure("tick() placed at depth %d from %s" % (tick["depth"], tick["parent_location"]))


@case
def killed_tracer_leaves_no_probes(env):
    need_root()
    address = semaphore_address(env.python)
    target, output = start_loop(env)
    try:
        tool = subprocess.Popen([env.tracer, "--pid", str(target.pid), "-o", "t.json"], cwd=env.tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not wait_until(lambda: semaphore(target.pid, address) > 0):
            tool.kill()
            raise Failure("the probes were never attached")
        tool.kill()  # SIGKILL: no chance to clean up
        tool.wait()
        if not wait_until(lambda: semaphore(target.pid, address) == 0):
            raise Failure("the probes' semaphore is still held after the tracer was killed")
        if target.poll() is not None:
            raise Failure("the traced process died with the tracer")
        if os.path.exists(os.path.join(env.tmp, "t.json")):
            raise Failure("a killed tracer left an output file under the requested name")
    finally:
        stop_loop(env, target)
    check_loop_output(output, target)


# Says when the tool's sys.monitoring tools are in place and when they are
# gone again, in files: the program's stdout is the tracer's.
LINES_WATCHED = """import os, sys, time

def tools():
    return [(sys.monitoring.get_tool(i) or "").split(" ")[0] for i in (3, 4, 5)]

def wait_for(condition):
    for _ in range(2000):
        if condition():
            return True
        time.sleep(0.005)
    return False

def mark(name):
    open(name, "w").close()

if wait_for(lambda: "pytrace" in tools()):
    mark("installed")
if wait_for(lambda: os.path.exists("killed")) and wait_for(lambda: "pytrace" not in tools()):
    mark("freed")
"""


@case
def killed_tracer_frees_the_line_callbacks(env):
    """The executed-lines script's callbacks go with the tool, even killed:
    the program is not left slower than it was."""
    need_root()
    os.chmod(env.tmp, 0o777)
    path = env.script("watched.py", LINES_WATCHED)
    tool = subprocess.Popen([env.tracer, "--python", env.python, "--track-executed-lines", "-o", "t.json", path],
                            cwd=env.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not wait_until(lambda: os.path.exists(os.path.join(env.tmp, "installed")), timeout=30):
            raise Failure("the line callbacks were never installed: " + (tool.stderr.read() if tool.poll() else ""))
        tool.kill()  # SIGKILL: no chance to clean up
        tool.wait()
        open(os.path.join(env.tmp, "killed"), "w").close()
        if not wait_until(lambda: os.path.exists(os.path.join(env.tmp, "freed")), timeout=30):
            raise Failure("the program still has the tool's sys.monitoring callbacks after the tool was killed")
    finally:
        if tool.poll() is None:
            tool.kill()


@case
def interrupt_stops_the_program_and_writes_the_trace(env):
    need_root()
    path = env.script("loop.py", LOOP)
    tool = subprocess.Popen([env.tracer, "--python", env.python, "-o", "t.json", path, "100000"], cwd=env.tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not tool.stdout.readline():
        tool.kill()
        raise Failure("the program did not start")
    tool.send_signal(signal.SIGINT)  # to the tool alone: it passes it on
    stdout, stderr = tool.communicate(timeout=60)
    if tool.returncode != 130 or "KeyboardInterrupt" not in stderr:
        raise Failure("exit code %d, expected 130 from the interrupted program:\n%s" % (tool.returncode, stderr))
    meta = json.load(open(os.path.join(env.tmp, "t.json")))["metadata"]
    if not meta["interrupted"] or meta["exit_code"] != 130:
        raise Failure("metadata: interrupted %s, exit code %s" % (meta["interrupted"], meta["exit_code"]))


@case
def interrupt_ends_an_attach(env):
    need_root()
    target, output = start_loop(env)
    try:
        tool = subprocess.Popen([env.tracer, "--pid", str(target.pid), "-o", "t.json"], cwd=env.tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not wait_until(lambda: semaphore(target.pid, semaphore_address(env.python)) > 0):
            tool.kill()
            raise Failure("the probes were never attached")
        tool.send_signal(signal.SIGINT)
        _, stderr = tool.communicate(timeout=30)
        if tool.returncode != 0 or target.poll() is not None:
            raise Failure("exit code %d, process running: %s\n%s" % (tool.returncode, target.poll() is None, stderr))
    finally:
        stop_loop(env, target)
    check_loop_output(output, target)
    meta = json.load(open(os.path.join(env.tmp, "t.json")))["metadata"]
    if meta["end_reason"] != "interrupted" or not meta["interrupted"]:
        raise Failure("metadata: end %s, interrupted %s" % (meta["end_reason"], meta["interrupted"]))


@case
def program_killed_by_a_signal(env):
    need_root()
    path = env.script("die.py", "import os, signal\ndef die():\n    os.kill(os.getpid(), signal.SIGKILL)\ndie()\n")
    result = env.run("-o", "t.json", path)
    if result.returncode != 137 or "SIGKILL" not in result.stderr:
        raise Failure("exit code %d, expected 137 (SIGKILL): %s" % (result.returncode, result.stderr))
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    unreturned = [e["name"] for e in document["trace_data"] if e["duration_ns"] is None]
    if document["metadata"]["signal"] != "SIGKILL" or unreturned != ["<module>", "die"]:
        raise Failure("signal %s, calls that did not return %s" % (document["metadata"]["signal"], unreturned))


CHILDREN = """import multiprocessing
import subprocess
import sys

def square(x):
    return x * x

def work(q):
    q.put(square(7))

def main():
    out = subprocess.run([sys.executable, "child.py", "3"], capture_output=True, text=True)
    print("subprocess", out.stdout.strip())
    for method in ("fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        q = ctx.Queue()
        p = ctx.Process(target=work, args=(q,))
        p.start()
        print(method, q.get())
        p.join()

if __name__ == "__main__":
    main()
"""

CHILD = """import sys

def triple(n):
    return 3 * twice(n) // 2

def twice(n):
    return 2 * n

print(triple(int(sys.argv[1])))
"""


@case
def child_processes_are_traced(env):
    need_root()
    main = env.script("main.py", CHILDREN)
    child = env.script("child.py", CHILD)
    result = env.run("-o", "t.json", main)
    if result.returncode != 0 or result.stdout != "subprocess 9\nfork 49\nspawn 49\n":
        raise Failure("exit code %d, output %r: %s" % (result.returncode, result.stdout, result.stderr))
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    processes = document["metadata"]["processes"]
    root = processes[0]["pid"]
    children = [p["pid"] for p in processes if p["parent_pid"] == root]
    if len(children) < 3:
        raise Failure("processes %s: expected the subprocess and two multiprocessing children" % processes)
    no_loss(document)
    by_pid = {}
    for thread in compare.trees_from_trace_by_pid(document):
        by_pid.setdefault(thread[0], []).append(thread[1])
    # The subprocess ran child.py: its tree is the one the interpreter reports for child.py.
    oracle_out = os.path.join(env.tmp, "child.oracle.json")
    subprocess.run([env.python, os.path.join(os.path.dirname(__file__), "oracle.py"), "--out", oracle_out,
                    "--scope", env.tmp, child, "3"], cwd=env.tmp, check=True, capture_output=True)
    expected = compare.load(oracle_out)["threads"]
    matched = [pid for pid, threads in by_pid.items() if not compare.diff(expected, threads)]
    if len(matched) != 1:
        raise Failure("no process traced child.py as the interpreter runs it:\n" +
                      "\n".join(compare.render(expected)))
    # Both multiprocessing children ran work(), which called square() and
    # the queue's put().
    workers = [pid for pid, threads in by_pid.items() if pid != root and
               any(n["name"] == "work" and [c["name"] for c in n["children"]] == ["square", "put"]
                   for t in threads for n in compare.walk(t))]
    if len(workers) != 2:
        raise Failure("processes with work() -> square(): %s of %s" % (workers, sorted(by_pid)))


@case
def pid_does_not_exist(env):
    need_root()
    free = next(pid for pid in range(4194303, 1, -1) if not os.path.exists("/proc/%d" % pid))
    expect_failure(env.run("--pid", str(free), use_python=False), 1, "no process with pid %d" % free)


@case
def pid_is_not_python(env):
    need_root()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        expect_failure(env.run("--pid", str(sleeper.pid), use_python=False), 1,
                       "pid %d (sleep) is not a Python process" % sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()


@case
def pid_runs_python_311(env):
    need_root()
    if not os.access("/usr/bin/python3.11", os.X_OK):
        raise Skip("Debian's /usr/bin/python3.11 is not installed")
    target = subprocess.Popen(["/usr/bin/python3.11", "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)
        expect_failure(env.run("--pid", str(target.pid), use_python=False), 1,
                       "older than 3.13", "--python PATH")
    finally:
        target.kill()
        target.wait()


@case
def pid_is_a_kernel_thread(env):
    need_root()
    expect_failure(env.run("--pid", "2", use_python=False), 1, "cannot reach pid 2", "kernel thread")


@case
def pytest_not_importable(env):
    need_root()
    # The provisioned interpreter beside its standard library but not its
    # dist-packages, where pytest is.
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(env.python)))
    os.makedirs(os.path.join(env.tmp, "usr", "bin"))
    os.makedirs(os.path.join(env.tmp, "usr", "lib"))
    version = os.path.basename(env.python)[len("python"):]
    os.symlink(os.path.join(prefix, "lib", "python" + version), os.path.join(env.tmp, "usr", "lib", "python" + version))
    bare = os.path.join(env.tmp, "usr", "bin", os.path.basename(env.python))
    shutil.copy(env.python, bare)
    env.python = bare
    expect_failure(env.run("tests", tool=env.pytest), 1, "pytest is not importable by " + bare,
                   "pip install pytest", tool="trace_pytest")


@case
def pattern_groups_of_a_loop(env):
    need_root()
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "patterns.py")
    path = env.script("loop.py", open(example).read())
    result = env.run(path, "--no-color")
    header = "    └── 🔄 Repeating Pattern: 6x repetitions of 6 calls (calls #2-#37, total: 36 calls)\n"
    template = "        📋 Pattern template (repeated 6 times):\n"
    nested = "        └── 🔄 Nested Pattern: 2x repetitions of 2 calls\n"
    if result.returncode != 0 or header not in result.stdout or template not in result.stdout or \
            nested not in result.stdout:
        raise Failure("console tree without the groups:\n" + result.stdout + result.stderr)
    result = env.run(path, "-o", "t.json")
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    groups = [(g["period"], g["repetitions"], g["total_calls"], g["outer"]) for g in document["patterns"]["groups"]]
    if groups != [(6, 6, 36, None), (2, 2, 4, 0)]:
        raise Failure("groups %s" % groups)
    names = [document["trace_data"][i]["name"] for i in document["patterns"]["groups"][0]["template_ids"]]
    if names != ["scaled_dot_product_attention", "get", "forward", "layer_name", "forward", "layer_name"]:
        raise Failure("template %s" % names)
    if document["metadata"]["patterns"]["calls_in_groups"] != 36:
        raise Failure("metadata %s" % document["metadata"]["patterns"])
    result = env.run(path, "-o", "flat.json", "--no-patterns")
    if "patterns" in json.load(open(os.path.join(env.tmp, "flat.json"))):
        raise Failure("--no-patterns still wrote groups")


LOSSY = """
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(int(sys.argv[1])))
"""


def check_tree(entries):
    """Ids in order, parents before their children on the same thread, each
    one level below its parent."""
    for i, e in enumerate(entries):
        p = e["parent_id"]
        if e["id"] != i:
            raise Failure("entry %d has id %s" % (i, e["id"]))
        if p is None:
            continue
        parent = entries[p]
        if p >= i or parent["thread_id"] != e["thread_id"] or parent["depth"] + 1 != e["depth"]:
            raise Failure("entry %d under %d: %s / %s" % (i, p, e, parent))


@case
def tiny_ring_buffer_counts_every_loss(env):
    """A 1 MB ring buffer cannot hold a burst of calls: the losses are
    counted by the kernel and by the reader, stderr says how many, and the
    trees around the gaps stay well formed."""
    need_root()
    path = env.script("lossy.py", LOSSY)
    result = env.run(path, "24", "--ring-buffer-mb", "1", "-o", "t.json")
    if result.returncode != 0:
        raise Failure("exit code %d: %s" % (result.returncode, result.stderr))
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    loss = document["metadata"]["loss"]
    drops = loss["ring_buffer_drops"]
    if drops == 0:
        raise Skip("the 1 MB ring buffer kept up this time: nothing was lost")
    # The kernel counts every record it could not queue; the reader sees the
    # gaps before each record that arrived (not those after a thread's last).
    if not 0 < loss["lost_records"] <= drops:
        raise Failure("the kernel lost %d records, the reader saw %d gaps" % (drops, loss["lost_records"]))
    if "warning: %d records were lost (ring buffer full)" % drops not in result.stderr:
        raise Failure("stderr does not say %d records were lost:\n%s" % (drops, result.stderr))
    calls = 150050  # fib(24)'s calls, and <module>
    if len(document["trace_data"]) >= calls:
        raise Failure("%d entries despite the losses" % len(document["trace_data"]))
    check_tree(document["trace_data"])
    # With the default ring buffer the same program loses nothing.
    result = env.run(path, "24", "-o", "full.json")
    document = json.load(open(os.path.join(env.tmp, "full.json")))
    if any(v for k, v in document["metadata"]["loss"].items()) or len(document["trace_data"]) != calls:
        raise Failure("default buffer: %d entries, loss %s" % (len(document["trace_data"]),
                                                               document["metadata"]["loss"]))
    check_tree(document["trace_data"])


SLOW = """
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(rounds):
    for _ in range(rounds):
        fib(14)
        time.sleep(0.1)


main(int(sys.argv[1]))
"""


@case
def long_trace_shows_progress_and_is_complete(env):
    """A run of a few seconds: on a terminal a progress line while the
    program runs, and every call in the JSON in a well-formed tree with its
    groups (the code path of the 10^7-call runs, at a size a test affords)."""
    need_root()
    path = env.script("slow.py", SLOW)
    master, slave = pty.openpty()
    process = subprocess.Popen([env.tracer, "--python", env.python, path, "30", "-o", "t.json"],
                               cwd=env.tmp, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the tracer closed its end
            break
        if not chunk:
            break
        terminal += chunk
    process.wait(timeout=300)
    os.close(master)
    text = terminal.decode(errors="replace")
    if process.returncode != 0:
        raise Failure("exit code %d: %s" % (process.returncode, text))
    if not re.search(r"\rtrace_program: [\d,]+ calls logged, [\d,]+ records \([\d,]+/s\), 0 lost", text):
        raise Failure("no progress line on the terminal:\n" + text)
    document = json.load(open(os.path.join(env.tmp, "t.json")))
    calls = 2 + 30 * 1219  # <module>, main, and fib(14)'s 1219 calls each round
    if len(document["trace_data"]) != calls or any(document["metadata"]["loss"].values()):
        raise Failure("%d entries, loss %s" % (len(document["trace_data"]), document["metadata"]["loss"]))
    check_tree(document["trace_data"])
    if not document["patterns"]["groups"]:
        raise Failure("no pattern groups")
    # Not on a terminal: no progress line.
    result = env.run(path, "30", "-o", "t2.json")
    if "calls logged" in result.stderr:
        raise Failure("a progress line in a pipe:\n" + result.stderr)


@contextlib.contextmanager
def environment(args):
    tmp = tempfile.mkdtemp(prefix="pytrace-cli-")
    try:
        yield Env(os.path.abspath(args.tracer), args.pytest_tracer and os.path.abspath(args.pytest_tracer),
                  args.python, tmp)
    finally:
        remove_tree(tmp)


def main(cases=CASES):
    """The command line of this script and of the other checks of the tools."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracer")
    parser.add_argument("--pytest-tracer")
    parser.add_argument("--python")
    return run(cases, parser, environment)


if __name__ == "__main__":
    sys.exit(main())
