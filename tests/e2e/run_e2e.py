# SPDX-License-Identifier: MIT
"""Traces one corpus program with trace_program and compares the call trees
with the oracle's (tests/e2e/oracle.py), run in the same interpreter.

usage: run_e2e.py --tracer PATH --python PATH --case DIR --workdir DIR
                  [--option TRACER_OPTION]... [-- SCRIPT_ARGS...]

Exit codes: 0 equal, 1 different or failed, 77 skipped (not root).
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracer", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--case", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("script_args", nargs="*")
    args = parser.parse_args()
    args.tracer = os.path.abspath(args.tracer)
    args.python = os.path.abspath(args.python)

    if os.geteuid() != 0:
        print("SKIP: end-to-end tests load BPF programs and need root")
        return 77
    if not os.access(args.python, os.X_OK):
        print("FAIL: interpreter %s is missing; run `sudo scripts/setup.sh`" % args.python)
        return 1

    case_dir = os.path.join(HERE, "corpus", args.case)
    script = os.path.join(case_dir, "main.py")
    name = args.case + "".join(o.replace("-", "_") for o in args.option)
    os.makedirs(args.workdir, exist_ok=True)
    oracle_out = os.path.join(args.workdir, name + ".oracle.json")
    trace_out = os.path.join(args.workdir, name + ".trace.json")

    oracle = subprocess.run(
        [args.python, os.path.join(HERE, "oracle.py"), "--out", oracle_out, "--scope", case_dir]
        + args.option + [script] + args.script_args,
        cwd=case_dir, capture_output=True, text=True, env=dict(os.environ, PYTHON_JIT="0"))
    traced = subprocess.run(
        [args.tracer, "--python", args.python, "-o", trace_out] + args.option + [script]
        + args.script_args,
        cwd=case_dir, capture_output=True, text=True)

    failures = []
    if traced.returncode != oracle.returncode:
        failures.append("exit code: trace_program %d, plain run %d\n%s" % (
            traced.returncode, oracle.returncode, traced.stderr))
    if traced.stdout != oracle.stdout:
        failures.append("the program's stdout differs:\n--- plain run\n%s--- traced\n%s" % (
            oracle.stdout, traced.stdout))
    if not os.path.exists(trace_out):
        failures.append("no trace written:\n" + traced.stderr)
    else:
        document = compare.load(trace_out)
        loss = document["metadata"]["loss"]
        lost = {k: v for k, v in loss.items() if v and k != "open_at_end"}
        if lost:
            failures.append("events lost or unmatched: %s" % json.dumps(lost))
        expected = compare.load(oracle_out)["threads"]
        actual = compare.trees_from_trace(document)
        difference = compare.diff(expected, actual)
        if difference:
            failures.append("call trees differ (oracle vs trace):\n" + "\n".join(difference))
        else:
            calls = sum(len(compare.render([t])) - 1 for t in actual)
            print("OK: %s: %d calls in %d threads equal the oracle's" % (name, calls, len(actual)))

    for failure in failures:
        print("FAIL: %s: %s" % (name, failure))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
