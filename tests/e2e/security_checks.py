# SPDX-License-Identifier: MIT
"""pytrace runs as root beside code it must not trust (docs/security.md):
the traced program and what it writes, its names, the command line's
numbers. Each case is an attack that once worked, or a limit that once was
missing; it runs as root with SUDO_UID/SUDO_GID naming an ordinary user, as
`sudo` would, in temporary directories only.

usage: security_checks.py --tracer PATH --pytest-tracer PATH --python PATH CASE
       security_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import base64
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import cli_checks  # noqa: E402
from checks import Cases, Failure  # noqa: E402
from cli_checks import LOOP, NOBODY, expect_failure, need_root, wait_until  # noqa: E402

CASES = Cases()
case = CASES.case
AS_SUDO_USER = {"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY), "SUDO_USER": "nobody"}


def shared_dir(env):
    """The test directory as /tmp is: anyone may create files, only owners remove them."""
    os.chmod(env.tmp, 0o1777)


def root_file(path, text="root only\n"):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return os.stat(path)


def unchanged(path, before, text="root only\n"):
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or (st.st_uid, st.st_mode, st.st_ino) != (before.st_uid, before.st_mode,
                                                                             before.st_ino):
        raise Failure("%s was replaced or changed hands: %s" % (path, st))
    if open(path).read() != text:
        raise Failure("%s was written" % path)


# ---- output files ---------------------------------------------------------

@case
def traced_program_cannot_redirect_the_output(env):
    """The traced program (as the user) swaps the output's name, and any
    temporary name the tool could use, for symlinks to a root-only file."""
    need_root()
    shared_dir(env)
    secret = os.path.join(env.tmp, "secret")
    before = root_file(secret)
    path = env.script("swap.py", """import os
for name in ["t.json", "t.json.partial-%d" % os.getppid(), ".t.json.partial-%d" % os.getppid()]:
    try:
        os.remove(name)
    except FileNotFoundError:
        pass
    os.symlink("secret", name)
print("swapped")
""")
    result = env.run("-o", "t.json", path, env=AS_SUDO_USER)
    if result.returncode != 0 or result.stdout != "swapped\n":
        raise Failure("exit %d: %s%s" % (result.returncode, result.stdout, result.stderr))
    unchanged(secret, before)
    trace = os.lstat(os.path.join(env.tmp, "t.json"))
    if not stat.S_ISREG(trace.st_mode) or trace.st_uid != NOBODY:
        raise Failure("t.json is not the user's trace: %s" % trace)
    json.load(open(os.path.join(env.tmp, "t.json")))


@case
def output_must_be_a_regular_file(env):
    """Device nodes, FIFOs, symlinks and directories named by -o are left
    alone, before anything runs."""
    need_root()
    path = env.script("ran.py", "open('ran', 'w').close()\n")
    os.mknod(os.path.join(env.tmp, "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(os.path.join(env.tmp, "fifo"))
    with open(os.path.join(env.tmp, "plain"), "w") as f:
        f.write("plain\n")
    os.symlink("plain", os.path.join(env.tmp, "link"))
    os.mkdir(os.path.join(env.tmp, "dir"))
    for name, kind in [("null", "a device"), ("fifo", "a FIFO"), ("link", "a symbolic link"),
                       ("dir", "a directory")]:
        expect_failure(env.run("-o", name, path), 2, "cannot write output file %s" % name, kind)
    if os.path.exists(os.path.join(env.tmp, "ran")):
        raise Failure("the program ran although its output file was refused")
    kinds = {n: stat.S_IFMT(os.lstat(os.path.join(env.tmp, n)).st_mode)
             for n in ("null", "fifo", "link", "dir", "plain")}
    if kinds != {"null": stat.S_IFCHR, "fifo": stat.S_IFIFO, "link": stat.S_IFLNK, "dir": stat.S_IFDIR,
                 "plain": stat.S_IFREG} or open(os.path.join(env.tmp, "plain")).read() != "plain\n":
        raise Failure("a refused target changed: %s" % kinds)


@case
def output_the_user_could_not_write_is_refused(env):
    """Under sudo, -o names a file the user could not replace: a root-only
    directory's, or root's in a directory like /tmp."""
    need_root()
    shared_dir(env)
    path = env.script("hello.py", "print('hi')\n")
    private = os.path.join(env.tmp, "private")
    os.mkdir(private, 0o700)
    inside = os.path.join(private, "t.json")
    before_inside = root_file(inside)
    shared = os.path.join(env.tmp, "t.json")
    before_shared = root_file(shared)
    os.chmod(shared, 0o644)
    before_shared = os.stat(shared)
    expect_failure(env.run("-o", inside, path, env=AS_SUDO_USER), 2, "cannot write output file", "Permission denied")
    expect_failure(env.run("-o", shared, path, env=AS_SUDO_USER), 2, "may not write", shared)
    unchanged(inside, before_inside)
    unchanged(shared, before_shared)


@case
def output_to_standard_output(env):
    need_root()
    path = env.script("hello.py", "def f():\n    return 1\nprint('hi', f())\n")
    result = env.run("-o", "-", path)
    if result.returncode != 0 or not result.stdout.startswith("hi 1\n"):
        raise Failure("exit %d: %s%s" % (result.returncode, result.stdout[:300], result.stderr))
    document = json.loads(result.stdout[len("hi 1\n"):])
    if [e["name"] for e in document["trace_data"]] != ["<module>", "f"]:
        raise Failure("the document on stdout: %s" % document["trace_data"])
    if os.path.exists(os.path.join(env.tmp, "-")):
        raise Failure("-o - wrote a file named -")


@case
def killed_tool_leaves_no_file(env):
    """kill -9 of the tool while the program runs: no partial file under any
    name, and the helper that holds the output goes too."""
    need_root()
    path = env.script("loop.py", LOOP)
    tool = subprocess.Popen([env.tracer, "--python", env.python, "-o", "t.json", path, "3000"], cwd=env.tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if not tool.stdout.readline():
            raise Failure("the program did not start")
        helpers = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == tool.pid]
        tool.kill()
        tool.wait()
        if not wait_until(lambda: not any(name_of(p) == "trace_program" for p in helpers)):
            raise Failure("a helper of the killed tool is still running")
    finally:
        open(os.path.join(env.tmp, "stop"), "w").close()
    time.sleep(0.2)
    left = [n for n in os.listdir(env.tmp) if "t.json" in n]
    if left:
        raise Failure("the killed tool left %s" % left)


def parent_of(pid):
    """The parent of process `pid` (a string), or None once it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def name_of(pid):
    try:
        with open("/proc/%s/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


@case
def full_disk_is_reported(env):
    need_root()
    full = os.path.join(env.tmp, "full")
    os.mkdir(full)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", full]).returncode != 0:
        raise Failure("cannot mount a small tmpfs")
    try:
        path = env.script("fib.py", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(14)\n")
        expect_failure(env.run("-o", os.path.join(full, "t.json"), path), 1, "No space left on device")
        if os.listdir(full):
            raise Failure("a full disk kept %s" % os.listdir(full))
    finally:
        subprocess.run(["umount", full])


@case
def not_root_creates_nothing(env):
    need_root()
    os.chmod(env.tmp, 0o777)
    path = env.script("hello.py", "print('hi')\n")
    expect_failure(env.run("-o", "newdir/t.json", path, as_nobody=True), 1, "needs root")
    if os.path.exists(os.path.join(env.tmp, "newdir")):
        raise Failure("a refused run created the output's directory")


@case
def source_files_are_read_as_the_user(env):
    """Call sites quote source lines: the program names the files. A link to
    a root-only file, a FIFO and /dev/zero as "sources" leak nothing, block
    nothing and fill no memory."""
    need_root()
    shared_dir(env)
    secret = os.path.join(env.tmp, "secret")
    root_file(secret, "SECRET-LINE-1\nSECRET-LINE-2\n")
    os.symlink(secret, os.path.join(env.tmp, "leak.py"))
    os.mkfifo(os.path.join(env.tmp, "fifo.py"), 0o666)
    os.symlink("/dev/zero", os.path.join(env.tmp, "zero.py"))
    path = env.script("leak_main.py", """import os
def g():
    pass
here = os.path.dirname(os.path.abspath(__file__))
for name in ("leak.py", "fifo.py", "zero.py"):
    exec(compile("g()\\n" * 3, os.path.join(here, name), "exec"))
print("done")
""")
    result = env.run("-o", "t.json", path, env=AS_SUDO_USER)
    if result.returncode != 0 or result.stdout != "done\n":
        raise Failure("exit %d: %s%s" % (result.returncode, result.stdout, result.stderr))
    text = open(os.path.join(env.tmp, "t.json")).read()
    if "SECRET" in text:
        raise Failure("a root-only file's lines are in the trace")
    if json.loads(text)["trace_data"][-1]["name"] != "g":
        raise Failure("the calls from the exec'd code are missing")
    usage = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
    if usage.ru_maxrss > 1 << 20:  # kB
        raise Failure("the tool grew to %d MB reading sources" % (usage.ru_maxrss >> 10))


@case
def traced_program_cannot_stop_the_tool(env):
    """The program runs as the user; the tool and its output helper must not
    be theirs to stop or kill."""
    need_root()
    shared_dir(env)
    path = env.script("stopper.py", """import os, signal
me, tool = os.getpid(), os.getppid()
def parent(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])
helpers = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me and parent(int(p)) == tool]
targets = [tool] + helpers
refused = 0
for pid in targets:
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except PermissionError:
            refused += 1
print("refused", refused, "of", 2 * len(targets))
""")
    result = env.run("-o", "t.json", path, env=AS_SUDO_USER)
    expected = "refused 4 of 4\n"  # the tool and its output helper
    if result.returncode != 0 or result.stdout != expected:
        raise Failure("exit %d, %r (expected %r): %s" % (result.returncode, result.stdout, expected, result.stderr))
    json.load(open(os.path.join(env.tmp, "t.json")))


@case
def attach_needs_the_users_right(env):
    """--pid under sudo: only a process the user could read as a debugger."""
    need_root()
    shared_dir(env)
    path = env.script("loop.py", LOOP)
    target = subprocess.Popen([env.python, path, "3000"], cwd=env.tmp, stdout=subprocess.DEVNULL)  # root's
    try:
        result = env.run("--pid", str(target.pid), "--duration", "0.2", "-o", "t.json", use_python=False,
                         env=AS_SUDO_USER)
        expect_failure(result, 1, "pid %d is not yours to trace" % target.pid)
        if os.path.exists(os.path.join(env.tmp, "t.json")):
            raise Failure("a refused attach wrote a trace")
    finally:
        target.kill()
        target.wait()


# ---- what is run as whom ----------------------------------------------------

@case
def named_interpreter_never_runs_as_root(env):
    need_root()
    os.chmod(env.tmp, 0o777)
    fake = os.path.join(env.tmp, "python3.15")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\nid -u >> %s/ran-as\nexit 1\n" % env.tmp)
    os.chmod(fake, 0o755)
    path = env.script("hello.py", "print('hi')\n")
    env.python = fake
    env.run(path, env=AS_SUDO_USER)
    if env.pytest:
        env.run(tool=env.pytest, env=AS_SUDO_USER)
    ran_as = open(os.path.join(env.tmp, "ran-as")).read().split() if os.path.exists(
        os.path.join(env.tmp, "ran-as")) else []
    if not ran_as or any(uid != str(NOBODY) for uid in ran_as):
        raise Failure("the --python file ran as uid %s" % ran_as)


@case
def scopes_are_looked_at_as_the_user(env):
    """--scope inside a directory the user cannot enter is refused as if it
    did not exist: the tool tells nothing of what is there."""
    need_root()
    os.chmod(env.tmp, 0o755)
    hidden = os.path.join(env.tmp, "root-only")
    os.makedirs(os.path.join(hidden, "exists"))
    os.chmod(hidden, 0o700)
    path = env.script("hello.py", "print('hi')\n")
    for scope in ("exists", "missing"):
        expect_failure(env.run("--scope", os.path.join(hidden, scope), path, env=AS_SUDO_USER), 1,
                       "scope directory does not exist: " + os.path.join(hidden, scope))


@case
def check_runs_no_interpreter_others_control(env):
    """--check finds interpreters on PATH, but one in a directory another
    user owns is not run: as root (no sudo) it would run as root. A FIFO in
    an interpreter's place blocks nothing."""
    need_root()
    os.chmod(env.tmp, 0o755)
    theirs = os.path.join(env.tmp, "theirs")
    os.mkdir(theirs)
    planted = os.path.join(theirs, "python3")
    shutil.copy(os.path.realpath(env.python), planted)  # a real interpreter: it would answer if run
    os.chown(theirs, NOBODY, NOBODY)
    os.chown(planted, NOBODY, NOBODY)
    fifo_dir = os.path.join(env.tmp, "fifo")
    os.mkdir(fifo_dir)
    os.mkfifo(os.path.join(fifo_dir, "python3.15"))
    path = "%s:%s:%s" % (theirs, fifo_dir, os.environ.get("PATH", "/usr/bin:/bin"))
    result = env.run("--check", env={"PATH": path})
    words = " ".join(result.stdout.split())
    if "skipped not running %s: someone else can change it" % planted not in words:
        raise Failure("the planted interpreter was not passed over:\n" + result.stdout)
    if ("  " + planted + "  (") in result.stdout:
        raise Failure("the planted interpreter was run:\n" + result.stdout)


# ---- numbers -------------------------------------------------------------------

@case
def numbers_are_range_checked(env):
    path = env.script("hello.py", "print('hi')\n")
    for args, phrase in [
        (["--pid", "4294988337"], "--pid needs a whole number from 1 to 4194304"),
        (["--pid", "0"], "--pid needs a whole number"),
        (["--pid", "-5"], "--pid needs a whole number"),
        (["--ring-buffer-mb", "4097", path], "--ring-buffer-mb needs a whole number from 1 to 2048"),
        (["--ring-buffer-mb", "4096", path], "--ring-buffer-mb needs a whole number from 1 to 2048"),
        (["--ring-buffer-mb", "3", path], "power of two"),
        (["--pid", "1", "--duration", "inf"], "--duration needs a number of seconds"),
        (["--pid", "1", "--duration", "1e20"], "--duration needs a number of seconds"),
        (["--pid", "1", "--duration", "nan"], "--duration needs a number of seconds"),
        (["-o", "", path], "-o needs a file name"),
    ]:
        expect_failure(env.run(*args, use_python=False), 2, phrase)


@case
def exit_status_and_signal_are_told_apart(env):
    need_root()
    path = env.script("exit137.py", "import sys\nsys.exit(137)\n")
    result = env.run("-o", "t.json", path)
    meta = json.load(open(os.path.join(env.tmp, "t.json")))["metadata"]
    if result.returncode != 137 or meta["exit_code"] != 137 or meta["signal"] is not None or "SIGKILL" in result.stderr:
        raise Failure("exit %d, metadata exit %s signal %s: %s" % (result.returncode, meta["exit_code"],
                                                                    meta["signal"], result.stderr))


# ---- names ------------------------------------------------------------------------

@case
def names_that_are_not_utf8_are_traced(env):
    need_root()
    directory = os.path.join(env.tmp.encode(), b"d\xffx")
    os.mkdir(directory)
    script = os.path.join(directory, b"s\xfe.py")
    with open(script, "w") as f:
        f.write("def f(x):\n    return x + 1\nprint(f(1))\n")
    result = subprocess.run([env.tracer.encode(), b"--python", env.python.encode(), b"-o", b"t.json", script],
                            cwd=env.tmp, capture_output=True)
    if result.returncode != 0 or result.stdout != b"2\n":
        raise Failure("exit %d: %r %r" % (result.returncode, result.stdout, result.stderr))
    entries = json.load(open(os.path.join(env.tmp, "t.json")))["trace_data"]
    if [e["name"] for e in entries] != ["<module>", "f"]:
        raise Failure("traced %s" % [e["name"] for e in entries])
    if any(base64.b64decode(e["file_bytes"]) != script for e in entries):
        raise Failure("file_bytes %s, not the script's path" % [e.get("file_bytes") for e in entries])
    tree = subprocess.run([env.tracer.encode(), b"--python", env.python.encode(), script], cwd=env.tmp,
                          capture_output=True).stdout
    if b"s\\xfe.py" not in tree or b"\xfe" in tree:
        raise Failure("the console tree shows the name as %r" % tree)


@case
def names_cannot_drive_the_terminal(env):
    need_root()
    path = env.script("evil.py", """def f():
    pass
g = type(f)(f.__code__.replace(co_name="f\\x1b[2J\\x1b]0;owned\\x07\\nfake line"), {})
g()
""")
    result = env.run(path)
    if result.returncode != 0 or "\x1b" in result.stdout or "\x07" in result.stdout:
        raise Failure("exit %d, raw control characters on the console: %r" % (result.returncode, result.stdout))
    if "\\x1b[2J" not in result.stdout:
        raise Failure("the escaped name is missing: %r" % result.stdout)


# ---- trace_pytest's events ------------------------------------------------------------------

EVIL_TEST = """import os

def test_writes_into_the_events():
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if "pytrace-pytest-events" in target:
            os.write(int(fd), b'{"event":"start","nodeid":"x","ns":1,"line":"seven"}\\n'
                              b'{"event":"end","nodeid":"y","ns":0}\\n'
                              b'{"event":"start","nodeid":"z","ns":5}\\n{"event":"end","nodeid":"z","ns":1}\\n'
                              b'not json at all\\n')
            return
    raise AssertionError("no events channel to write into")
"""


@case
def test_events_are_not_trusted(env):
    need_root()
    if not env.pytest:
        raise Failure("--pytest-tracer is needed")
    tests = os.path.join(env.tmp, "tests")
    os.mkdir(tests)
    with open(os.path.join(tests, "test_evil.py"), "w") as f:
        f.write(EVIL_TEST)
    before = {n for n in os.listdir("/tmp") if n.startswith("pytrace-pytest")}
    result = env.run("-q", "-p", "no:cacheprovider", "tests", "-o", "t.json", tool=env.pytest)
    if result.returncode != 0 or "test events could not be read" not in result.stderr:
        raise Failure("exit %d (pytest's is 0): %s%s" % (result.returncode, result.stdout, result.stderr))
    tests_seen = json.load(open(os.path.join(env.tmp, "t.json")))["metadata"]["tests"]
    real = [t for t in tests_seen if t["nodeid"] == "tests/test_evil.py::test_writes_into_the_events"]
    if len(real) != 1 or real[0]["outcome"] != "passed":
        raise Failure("tests in the trace: %s" % tests_seen)
    after = {n for n in os.listdir("/tmp") if n.startswith("pytrace-pytest")}
    if after - before:
        raise Failure("trace_pytest left %s in /tmp" % sorted(after - before))


@case
def test_events_cannot_exhaust_the_tool(env):
    """A test grows the events channel to 1 GiB (sparse, free for it)."""
    need_root()
    tests = os.path.join(env.tmp, "tests")
    os.mkdir(tests)
    with open(os.path.join(tests, "test_bomb.py"), "w") as f:
        f.write(EVIL_TEST.replace("os.write(int(fd), ", "os.ftruncate(int(fd), 1 << 30)\n            (").replace(
            "b'not json at all\\n')", "b'')"))
    result = env.run("-q", "-p", "no:cacheprovider", "-W", "error", "tests", "-o", "t.json", tool=env.pytest)
    if result.returncode != 0 or "larger than 64 MiB" not in result.stderr:
        raise Failure("exit %d: %s%s" % (result.returncode, result.stdout, result.stderr))
    usage = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
    if usage.ru_maxrss > 1 << 20:  # kB
        raise Failure("the tool grew to %d MB" % (usage.ru_maxrss >> 10))
    json.load(open(os.path.join(env.tmp, "t.json")))


@case
def trace_pytest_help_lists_its_options(env):
    result = env.run("--help", tool=env.pytest, use_python=False)
    for option in ("--no-arg-values", "--ring-buffer-mb", "--python", "- is standard output"):
        if option not in result.stdout:
            raise Failure("trace_pytest --help lacks %s" % option)


if __name__ == "__main__":
    sys.exit(cli_checks.main(CASES))
