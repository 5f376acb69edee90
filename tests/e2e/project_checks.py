# SPDX-License-Identifier: MIT
"""Real projects: a project with its own virtualenv and a dependency
installed with pip, traced as its user would (no --python: the tool finds
the project's .venv); -m; several scopes; a scope inside the standard
library; callbacks nested under the library call they came through; the
interpreter check. Every trace is compared with the interpreter's own view
(oracle.py, run by the same interpreter with the same options).

usage: project_checks.py --tracer PATH --pytest-tracer PATH --python PATH CASE
       project_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import cli_checks  # noqa: E402
import compare  # noqa: E402
from checks import Cases, Failure  # noqa: E402
from cli_checks import need_root  # noqa: E402

CASES = Cases()
case = CASES.case
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def run(command, cwd, env=None, check=True, timeout=300):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, **OFFLINE, **(env or {})))
    if check and result.returncode != 0:
        raise Failure("%s: exit %d\n%s%s" % (" ".join(command), result.returncode, result.stdout[-2000:],
                                             result.stderr[-3000:]))
    return result


def make_project(env):
    """The fixture project in a fresh directory, with a .venv made by the
    interpreter under test and its dependency installed by the venv's pip
    from a source directory (offline: setuptools from the interpreter's own
    wheels). The venv sees the interpreter's pytest (--system-site-packages)."""
    project = os.path.join(env.tmp, "inventory")
    shutil.copytree(os.path.join(HERE, "venv_project"), project)
    run([env.python, "-m", "venv", "--system-site-packages", ".venv"], project)
    python = os.path.join(project, ".venv", "bin", "python")
    base_prefix = run([python, "-c", "import sys; print(sys.base_prefix)"], project).stdout.strip()
    wheels = glob.glob(os.path.join(base_prefix, "share", "python-wheels", "setuptools-*.whl"))
    if not wheels:
        raise Failure("no setuptools wheel in %s/share/python-wheels (scripts/provision_python.sh installs it)"
                      % base_prefix)
    run([python, "-m", "pip", "install", wheels[0]], project)
    run([python, "-m", "pip", "install", "--no-build-isolation", "deps/greetlib"], project)
    shutil.rmtree(os.path.join(project, "deps"))  # importable from the venv only
    return project, python


def oracle(python, cwd, scopes, program, options=()):
    """The interpreter's own trees (and the program's result) for `program`."""
    out = os.path.join(cwd, "oracle.json")
    args = [python, os.path.join(HERE, "oracle.py"), "--out", out]
    for scope in scopes:
        args += ["--scope", scope]
    result = run(args + list(options) + list(program), cwd, env={"PYTHON_JIT": "0"}, check=False)
    reference = compare.load(out)
    os.unlink(out)
    return result, reference


def trace(env, cwd, args, tool=None, expect_exit=0):
    """Runs the tool (no --python: it chooses) and returns its result and document."""
    out = os.path.join(cwd, "t.json")
    result = run([tool or env.tracer, "-o", out] + list(args), cwd, check=False)
    if result.returncode != expect_exit:
        raise Failure("exit %d, expected %d:\n%s" % (result.returncode, expect_exit, result.stderr[-3000:]))
    document = compare.load(out)
    os.unlink(out)
    cli_checks.no_loss(document)
    return result, document


def same_trees(reference, document):
    expected = compare.trees_from_oracle(reference)
    actual = compare.trees_from_trace(document)
    difference = compare.diff(expected, actual)
    if difference:
        raise Failure("the trace differs from the interpreter's view:\n" + "\n".join(difference[:80]))


def expect_in(text, *phrases):
    """Each phrase is in the text, however its lines were wrapped."""
    words = " ".join(text.split())
    for phrase in phrases:
        if " ".join(phrase.split()) not in words:
            raise Failure("missing %r in:\n%s" % (phrase, text))


@case
def venv_project_script_and_tests(env):
    """The project's script and its tests, each traced through the project's
    .venv without --python; the dependency in site-packages is external."""
    need_root()
    project, python = make_project(env)
    venv = os.path.join(project, ".venv")

    result, document = trace(env, project, ["main.py", "apple=3", "pear=1"])
    expect_in(result.stderr, "with Python 3.", "from " + os.path.join(venv, "bin", "python"),
              "the virtualenv " + venv)
    if result.stdout != "APPLE! x3, PEAR! x1\n":
        raise Failure("the program's output: %r" % result.stdout)
    if document["metadata"]["python"]["executable"] != os.path.join(venv, "bin", "python"):
        raise Failure("python: %s" % document["metadata"]["python"])
    shout = [e for e in document["trace_data"] if e["name"] == "shout"]
    if not shout or not all(e["is_external"] and "/site-packages/greetlib/" in e["file"] for e in shout):
        raise Failure("greetlib.shout should be an external call into site-packages: %s" % shout)
    plain, reference = oracle(python, project, [project], ["main.py", "apple=3", "pear=1"])
    same_trees(reference, document)

    # The documented order: --python, then $VIRTUAL_ENV (kept through sudo
    # with --preserve-env), then a .venv, then the default.
    out = os.path.join(env.tmp, "t.json")
    chosen = run([env.tracer, "--python", env.python, "-o", out, os.path.join(project, "main.py")], env.tmp,
                 check=False)
    expect_in(chosen.stderr, "from %s (--python;" % env.python)
    chosen = run([env.tracer, "-o", out, os.path.join(project, "main.py")], env.tmp, check=False,
                 env={"VIRTUAL_ENV": venv})
    expect_in(chosen.stderr, "the active virtualenv, $VIRTUAL_ENV")

    # From a subdirectory, the .venv above it is found too.
    pytest_args = ["-q", "-p", "no:cacheprovider"]
    result, document = trace(env, os.path.join(project, "tests"), ["--scope", project] + pytest_args,
                             tool=env.pytest, expect_exit=1)
    expect_in(result.stderr, "the virtualenv " + venv)
    outcomes = {t["nodeid"]: t["outcome"] for t in document["metadata"]["tests"]}
    if outcomes != {"tests/test_core.py::test_parse": "passed", "tests/test_core.py::test_report": "passed",
                    "tests/test_core.py::test_fails": "failed"}:
        raise Failure("tests: %s" % outcomes)
    plain, reference = oracle(python, os.path.join(project, "tests"), [project], ["--pytest"] + pytest_args)
    same_trees(reference, document)


@case
def module_runs_a_packages_main(env):
    """-m runs inventory/__main__.py as python -m does: its argv, its
    __main__, the current directory as the scope."""
    need_root()
    project, python = make_project(env)
    result, document = trace(env, project, ["-m", "inventory", "fig=2"])
    if result.stdout != "FIG! x2\n":
        raise Failure("output %r" % result.stdout)
    main = os.path.join(project, "inventory", "__main__.py")
    meta = document["metadata"]
    if meta["main_file"] != main or meta["scope_paths"] != [project]:
        raise Failure("main_file %s, scope_paths %s" % (meta["main_file"], meta["scope_paths"]))
    bodies = [e for e in document["trace_data"] if e["file"] == main and e["name"] == "<module>"]
    if [e["call_type"] for e in bodies] != ["module_execution"]:
        raise Failure("inventory/__main__.py's body: %s" % bodies)
    plain, reference = oracle(python, project, [project], ["-m", "inventory", "fig=2"])
    if plain.stdout != result.stdout:
        raise Failure("python -m printed %r, traced %r" % (plain.stdout, result.stdout))
    same_trees(reference, document)
    # What a .pth file prints at start-up is not taken for the module's file.
    site = glob.glob(os.path.join(project, ".venv", "lib", "python3*", "site-packages"))[0]
    with open(os.path.join(site, "noisy.pth"), "w") as f:
        f.write("import sys; print('hello from a .pth file')\n")
    result, document = trace(env, project, ["-m", "inventory", "fig=2"])
    if document["metadata"]["main_file"] != main:
        raise Failure("with a .pth that prints, main_file %r" % document["metadata"]["main_file"])
    # A part after a module that is not a package: as python -m, no such module.
    failed = run([env.tracer, "-m", "inventory.core.py"], project, check=False)
    cli_checks.expect_failure(failed, 1, "No module named inventory.core.py")
    # A module that does not exist: one message, no trace.
    failed = run([env.tracer, "-m", "no_such_module", "-o", "x.json"], project, check=False)
    cli_checks.expect_failure(failed, 1, "cannot run -m no_such_module", "No module named no_such_module")
    if os.path.exists(os.path.join(project, "x.json")):
        raise Failure("a trace was written for a module that does not exist")


@case
def two_scopes(env):
    """--scope twice: the project and the installed dependency's internals
    (inside site-packages, which an explicit scope overrides)."""
    need_root()
    project, python = make_project(env)
    greetlib = glob.glob(os.path.join(project, ".venv", "lib", "python3*", "site-packages", "greetlib"))[0]
    args = ["--scope", project, "--scope", greetlib]
    result, document = trace(env, project, args + ["main.py", "kiwi=5"])
    internal = {e["name"] for e in document["trace_data"] if not e["is_external"]}
    if not {"shout", "_upper", "join_with", "_each", "label"} <= internal:
        raise Failure("greetlib's internals should be in scope: %s" % sorted(internal))
    if document["metadata"]["scope_paths"] != [project, greetlib] or "warning" in result.stderr:
        raise Failure("scope_paths %s\n%s" % (document["metadata"]["scope_paths"], result.stderr))
    # The callback: label()'s caller is greetlib's _each, its parent the in-scope report().
    label = next(e for e in document["trace_data"] if e["name"] == "label")
    by_id = {e["id"]: e for e in document["trace_data"]}
    if by_id[label["caller_id"]]["name"] != "_each":
        raise Failure("label's caller: %s" % by_id[label["caller_id"]])
    plain, reference = oracle(python, project, [project, greetlib], ["main.py", "kiwi=5"])
    same_trees(reference, document)


@case
def a_venv_someone_else_controls_is_not_used(env):
    """A .venv found above the script that is another user's (as one in
    /tmp could be) is passed over, with a warning."""
    need_root()
    shared = os.path.join(env.tmp, "shared")
    os.makedirs(os.path.join(shared, "app"))
    run([env.python, "-m", "venv", "--without-pip", os.path.join(shared, ".venv")], env.tmp)
    for root, dirs, files in os.walk(os.path.join(shared, ".venv")):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), cli_checks.NOBODY, cli_checks.NOBODY)
    os.chown(os.path.join(shared, ".venv"), cli_checks.NOBODY, cli_checks.NOBODY)
    script = os.path.join(shared, "app", "hello.py")
    with open(script, "w") as f:
        f.write("print('hello')\n")
    result, document = trace(env, env.tmp, [script])
    expect_in(result.stderr, "warning: not using %s/.venv: it is not yours" % shared, "(the default;")
    if result.stderr.count("not using") != 1:
        raise Failure("said more than once:\n" + result.stderr)
    check = run([env.tracer, "--check"], os.path.join(shared, "app"), check=False)
    expect_in(check.stdout, "skipped not using %s/.venv" % shared)

    # Root's own .venv, in a directory anyone can write (and so swap it for
    # another after the check): passed over too.
    for root, dirs, files in os.walk(os.path.join(shared, ".venv")):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), 0, 0)
    os.chown(os.path.join(shared, ".venv"), 0, 0)
    os.chmod(shared, 0o777)
    result, document = trace(env, env.tmp, [script])
    expect_in(result.stderr, "warning: not using %s/.venv" % shared, "someone else can change it or a directory above it")
    os.chmod(shared, 0o1777)  # sticky, as /tmp: nobody else can move root's .venv
    result, document = trace(env, env.tmp, [script])
    expect_in(result.stderr, "(the virtualenv %s/.venv;" % shared)


STDLIB_USER = """import json

def encode(value):
    return json.dumps(value, sort_keys=True)

print(encode({"b": [1, 2], "a": None}))
"""


@case
def scope_inside_the_standard_library(env):
    """An explicit scope inside the standard library traces it; a scope
    nothing ran in gets a warning."""
    need_root()
    stdlib = run([env.python, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"], env.tmp).stdout.strip()
    json_dir = os.path.join(stdlib, "json")
    script = env.script("uses_json.py", STDLIB_USER)
    empty = os.path.join(env.tmp, "nothing_here")
    os.mkdir(empty)
    args = ["--python", env.python, "--scope", env.tmp, "--scope", json_dir, "--scope", empty]
    result, document = trace(env, env.tmp, args + [script])
    internal = {(e["name"], os.path.dirname(e["file"])) for e in document["trace_data"] if not e["is_external"]}
    if ("dumps", json_dir) not in internal or ("encode", json_dir) not in internal:
        raise Failure("json's own functions should be in scope: %s" % sorted(internal))
    expect_in(result.stderr, "warning: no code that ran was in the scope " + empty)
    if "warning: no code that ran was in the scope " + json_dir in result.stderr:
        raise Failure("a scope that ran warned:\n" + result.stderr)
    plain, reference = oracle(env.python, env.tmp, [env.tmp, json_dir, empty], [script])
    same_trees(reference, document)


ASYNC_PROGRAM = """import asyncio

async def fetch(n):
    await asyncio.sleep(0)
    return square(n)

def square(n):
    return n * n

async def main():
    return await asyncio.gather(fetch(2), fetch(3))

print(asyncio.run(main()))
"""


@case
def asyncio_steps_nest_under_run(env):
    """Coroutine steps run inside asyncio.run: the JSON keeps the seed's
    parent and depth and names run as their caller; the console tree draws
    them inside run, which time confirms."""
    need_root()
    script = env.script("steps.py", ASYNC_PROGRAM)
    result, document = trace(env, env.tmp, ["--python", env.python, script])
    entries = document["trace_data"]
    run_entry = next(e for e in entries if e["name"] == "run" and e["is_external"])
    steps = [e for e in entries if e["name"] in ("main", "fetch")]
    if not steps or any(e["caller_id"] != run_entry["id"] for e in steps):
        raise Failure("coroutine steps' callers: %s (run is #%d)" % ([(e["name"], e["caller_id"]) for e in steps],
                                                                    run_entry["id"]))
    if any(e["parent_id"] != run_entry["parent_id"] or e["depth"] != run_entry["depth"] for e in steps):
        raise Failure("the seed's parent and depth: run %s, steps %s" % (
            (run_entry["parent_id"], run_entry["depth"]), [(e["parent_id"], e["depth"]) for e in steps]))
    end = run_entry["start_ns"] + run_entry["duration_ns"]
    if any(not run_entry["start_ns"] <= e["start_ns"] <= end for e in steps):
        raise Failure("steps outside run's time")
    plain, reference = oracle(env.python, env.tmp, [env.tmp], [script])
    same_trees(reference, document)

    console = run([env.tracer, "--python", env.python, "--no-patterns", script], env.tmp).stdout
    lines = console.splitlines()
    run_line = next(i for i, line in enumerate(lines) if line.lstrip("│├└─ ").startswith("run  "))
    indent = len(lines[run_line]) - len(lines[run_line].lstrip("│├└─ "))
    step_lines = [line for line in lines if line.lstrip("│├└─ ").startswith(("main  ", "fetch  "))]
    if not step_lines or any(len(line) - len(line.lstrip("│├└─ ")) <= indent for line in step_lines):
        raise Failure("the console tree should draw the steps inside run:\n" + console)


@case
def check_reports_good_and_bad_interpreters(env):
    """--check: the kernel, the privileges, and each interpreter traced once;
    exit 0 for a usable one, 1 with the reason for one without probes."""
    need_root()
    good = run([env.tracer, "--check", "--python", env.python], env.tmp)
    expect_in(good.stdout, "Privileges\n  ok", "Kernel\n  Linux ", "the BPF ring buffer",
              "usable    * " + env.python + "  (--python)", "its calls came out as they ran",
              "Tracing works here.")

    # The same interpreter with its probe notes renamed: no probes to attach.
    prefix = os.path.join(env.tmp, "noprobes")
    os.makedirs(os.path.join(prefix, "usr", "bin"))
    real = os.path.realpath(env.python)
    copy = os.path.join(prefix, "usr", "bin", os.path.basename(real))
    with open(real, "rb") as f:
        image = f.read()
    if image.count(b"function__entry\0") != 1:
        raise Failure("expected one function__entry note in %s" % real)
    with open(copy, "wb") as f:
        f.write(image.replace(b"function__entry\0", b"function__entrX\0"))
    os.chmod(copy, 0o755)
    os.symlink(os.path.join(os.path.dirname(os.path.dirname(real)), "lib"), os.path.join(prefix, "usr", "lib"))
    bad = run([env.tracer, "--check", "--python", copy], env.tmp, check=False)
    if bad.returncode != 1:
        raise Failure("exit %d for an interpreter without probes:\n%s" % (bad.returncode, bad.stdout))
    expect_in(bad.stdout, "no        * " + copy + "  (--python)", "built without DTrace/SystemTap probes",
              "Tracing does not work with %s. Without --python, %s would be used, and it can be traced."
              % (copy, env.python))

    # Not root: says so, exits 1, still lists the interpreters.
    os.chmod(env.tmp, 0o755)
    nobody = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", env.tracer, "--check",
                  "--python", env.python], env.tmp, check=False)
    if nobody.returncode != 1:
        raise Failure("exit %d without privileges" % nobody.returncode)
    expect_in(nobody.stdout, "missing   the privileges to load BPF programs", "probes    * " + env.python)


if __name__ == "__main__":
    sys.exit(cli_checks.main(CASES))
