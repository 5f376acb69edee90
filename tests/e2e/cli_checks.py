# SPDX-License-Identifier: MIT
"""trace_program's behaviour at its edges: every bad input gives one clear
message and a non-zero exit without leaving output behind; the traced
program's arguments, output and exit code pass through.

usage: cli_checks.py --tracer PATH --python PATH CASE
       cli_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

NOBODY = 65534
CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


class Failure(Exception):
    pass


class Skip(Exception):
    pass


class Env:
    def __init__(self, tracer, python, tmp):
        self.tracer = tracer
        self.python = python
        self.tmp = tmp

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o644)
        return path

    def run(self, *args, as_nobody=False, env=None, use_python=True):
        command = [self.tracer] + (["--python", self.python] if use_python else []) + list(args)
        if as_nobody:
            command = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + command
        return subprocess.run(command, capture_output=True, text=True, cwd=self.tmp,
                              env=dict(os.environ, **(env or {})), timeout=120)


def expect_failure(result, code, *phrases):
    """One clear message: the tool's name, the phrases, no traceback."""
    if result.returncode != code:
        raise Failure("exit code %d, expected %d\nstderr: %s" % (result.returncode, code, result.stderr))
    for phrase in phrases:
        if phrase not in result.stderr:
            raise Failure("stderr lacks %r:\n%s" % (phrase, result.stderr))
    if "trace_program" not in result.stderr or "Traceback" in result.stderr:
        raise Failure("not one clear message:\n" + result.stderr)


def expect_no_files(directory, before):
    after = set(os.listdir(directory))
    if after - before:
        raise Failure("left files behind: %s" % sorted(after - before))


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
    path = env.script("whoami.py", "import os\nprint(os.getuid(), os.getgid())\n")
    result = env.run("-o", "t.json", path, env={"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY)})
    if result.returncode != 0 or result.stdout != "%d %d\n" % (NOBODY, NOBODY):
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracer")
    parser.add_argument("--python")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("case", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join(CASES))
        return 0
    tmp = tempfile.mkdtemp(prefix="pytrace-cli-")
    try:
        CASES[args.case](Env(os.path.abspath(args.tracer), args.python, tmp))
        print("OK: " + args.case)
        return 0
    except Skip as skip:
        print("SKIP: %s: %s" % (args.case, skip))
        return 77
    except Failure as failure:
        print("FAIL: %s: %s" % (args.case, failure))
        return 1
    finally:
        for root, dirs, files in os.walk(tmp):
            for name in dirs + files:
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    os.chmod(full, stat.S_IRWXU)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
