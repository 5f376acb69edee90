# SPDX-License-Identifier: MIT
"""Traces one corpus program with trace_program and compares the call trees
with the oracle's (tests/e2e/oracle.py), run in the same interpreter.

usage: run_e2e.py --tracer PATH --python PATH --case DIR --workdir DIR
                  [--option TRACER_OPTION]... [-- SCRIPT_ARGS...]
       run_e2e.py --pytest --tracer TRACE_PYTEST --python PATH --case DIR ... [-- PYTEST_ARGS...]

A case is a directory under corpus/ with a main.py, or with --pytest a
directory here that holds a pytest project.

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
    parser.add_argument("--pytest", action="store_true")
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

    case_dir = os.path.join(HERE, args.case) if args.pytest else os.path.join(HERE, "corpus", args.case)
    name = args.case + "".join(o.replace("-", "_") for o in args.option)
    os.makedirs(args.workdir, exist_ok=True)
    oracle_out = os.path.join(args.workdir, name + ".oracle.json")
    trace_out = os.path.join(args.workdir, name + ".trace.json")
    # pytest is run as pytest; a script by its path.
    program = ["--pytest"] if args.pytest else [os.path.join(case_dir, "main.py")]
    traced_program = [] if args.pytest else program

    oracle = subprocess.run(
        [args.python, os.path.join(HERE, "oracle.py"), "--out", oracle_out, "--scope", case_dir]
        + args.option + program + args.script_args,
        cwd=case_dir, capture_output=True, text=True, env=dict(os.environ, PYTHON_JIT="0"))
    traced = subprocess.run(
        [args.tracer, "--python", args.python, "-o", trace_out] + args.option + traced_program
        + args.script_args,
        cwd=case_dir, capture_output=True, text=True)

    failures = []
    if traced.returncode != oracle.returncode:
        failures.append("exit code: traced %d, plain run %d\n%s\n%s" % (
            traced.returncode, oracle.returncode, traced.stdout[-2000:], traced.stderr[-2000:]))
    if args.pytest:
        pass  # pytest prints timings: its output differs from run to run
    elif traced.stdout != oracle.stdout:
        failures.append("the program's stdout differs:\n--- plain run\n%s--- traced\n%s" % (
            oracle.stdout, traced.stdout))
    if not os.path.exists(trace_out):
        failures.append("no trace written:\n" + traced.stderr)
    else:
        document = compare.load(trace_out)
        lost = compare.losses(document)
        if lost:
            failures.append("events lost or unmatched: %s" % json.dumps(lost))
        reference = compare.load(oracle_out)
        expected = compare.trees_from_oracle(reference)
        actual = compare.trees_from_trace(document)
        traced_tests = [{"nodeid": t["nodeid"], "outcome": t["outcome"]}
                        for t in document["metadata"].get("tests", [])]
        if traced_tests != reference["tests"]:
            failures.append("tests and outcomes differ:\n  oracle %s\n  trace  %s" % (
                reference["tests"], traced_tests))
        difference = compare.diff(expected, actual)
        if difference:
            failures.append("call trees differ (oracle vs trace):\n" + "\n".join(difference))
        # A case may ask for calls left out in the kernel (corpus/boundaries).
        expected_case = os.path.join(case_dir, "case.json")
        if os.path.exists(expected_case):
            least = json.load(open(expected_case))["min_probe_hits_left_out_in_kernel"]
            left_out = document["metadata"].get("left_out") or {}
            if left_out.get("probe_hits_in_kernel", 0) < least:
                failures.append("fewer than %d probe hits left out in the kernel: %s" % (least, left_out))
        if "--track-executed-lines" in args.option:
            expected_runs = compare.runs_from_oracle(reference)
            lines = sum(1 for run in expected_runs for item in run if item.startswith("  line "))
            runs_difference = compare.runs_diff(expected_runs, compare.runs_from_trace(document))
            if runs_difference:
                failures.append("executed lines differ (oracle vs trace):\n" + "\n".join(runs_difference))
            elif lines == 0:
                failures.append("the oracle saw no executed line in the scope")
            elif document["metadata"].get("executed_lines_count") != sum(
                    1 for e in document["trace_data"] if e["event"] == "executed_line"):
                failures.append("executed_lines_count is %s, not the number of executed_line entries" % (
                    document["metadata"].get("executed_lines_count")))
            else:
                print("OK: %s: %d executed lines equal the oracle's" % (name, lines))
        else:
            calls = sum(len(compare.render([t])) - 1 for t in actual)
            print("OK: %s: %d calls in %d threads equal the oracle's" % (name, calls, len(actual)))

    for failure in failures:
        print("FAIL: %s: %s" % (name, failure))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
