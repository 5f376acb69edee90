# SPDX-License-Identifier: MIT
"""Overhead of tracing, measured side by side in one run (as root).

For each workload it runs, interleaved, ROUNDS times each:
  plain      python3.15 WORKLOAD                       (no tracing)
  pytrace    trace_program -o FILE WORKLOAD            (eBPF, JSON written)
  tree       trace_program WORKLOAD > /dev/null        (eBPF, console tree)
  settrace   python3.15 settrace_baseline.py WORKLOAD  (the seed's mechanism, minimal)
and reports the median wall time, the ratio to plain, and the added cost
per call. An empty script, measured the same way, gives each
configuration's fixed cost (starting the interpreter; for pytrace also
loading and attaching the probes and writing the output), which the
per-call figure leaves out. Ratios from one run are comparable; absolute
times on a shared machine are not.

usage: sudo python3 bench/run_bench.py [--tracer PATH] [--python PATH] [--rounds N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = [
    ("empty", "workloads/empty.py", []),
    ("calls", "workloads/calls.py", ["24"]),
    ("mixed", "workloads/mixed.py", ["3000"]),
]


def wait_for_detach(timeout=10.0):
    """trace_program leaves a short-lived child that detaches its uprobes
    (docs/probes.md); attaching waits for it, so let it finish first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().split(") ")
            except OSError:
                continue
            if fields[0].endswith("(trace_program") and not fields[1].startswith("Z"):
                busy = True
                break
        if not busy:
            return
        time.sleep(0.02)


def timed(command, stdout=subprocess.DEVNULL):
    wait_for_detach()
    start = time.perf_counter()
    result = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), result.stderr))
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracer", default=os.path.join(HERE, "..", "build", "cli", "trace_program"))
    default_python = "/opt/pytrace/python3.15/usr/bin/python3.15"
    marker = os.path.join(HERE, "..", ".pytrace-python")
    if os.path.exists(marker):
        default_python = open(marker).read().strip()
    parser.add_argument("--python", default=default_python)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run_bench.py: needs root (trace_program loads BPF programs)")

    out = tempfile.mkdtemp(prefix="pytrace-bench-")
    print("python %s, tracer %s, %d rounds, medians\n" % (args.python, args.tracer, args.rounds))
    print("%-8s %8s | %9s %9s %9s %9s | %8s %8s %8s | %s" % (
        "workload", "calls", "plain s", "pytrace s", "tree s", "settrace s",
        "pytrace", "tree", "settrace", "added us/call: pytrace, settrace"))
    fixed = None
    for name, path, workload_args in WORKLOADS:
        script = [os.path.join(HERE, path)] + workload_args
        trace_file = os.path.join(out, name + ".json")
        commands = {
            "plain": [args.python] + script,
            "pytrace": [args.tracer, "--python", args.python, "-o", trace_file] + script,
            "tree": [args.tracer, "--python", args.python] + script,
            "settrace": [args.python, os.path.join(HERE, "settrace_baseline.py")] + script,
        }
        times = {key: [] for key in commands}
        for _ in range(args.rounds):
            for key, command in commands.items():
                times[key].append(timed(command))
        median = {key: statistics.median(values) for key, values in times.items()}
        document = json.load(open(trace_file))
        calls = document["metadata"]["records"] // 2  # about one entry and one return per call
        loss = {k: v for k, v in document["metadata"]["loss"].items() if v}
        if fixed is None:
            fixed = median
            calls_empty = calls
            per_call = "(fixed cost: pytrace +%.3f s, settrace +%.3f s)" % (
                median["pytrace"] - median["plain"], median["settrace"] - median["plain"])
        else:
            def added(key):
                work = (median[key] - fixed[key]) - (median["plain"] - fixed["plain"])
                return work / (calls - calls_empty) * 1e6
            per_call = "%.2f, %.2f" % (added("pytrace"), added("settrace"))
        print("%-8s %8d | %9.3f %9.3f %9.3f %9.3f | %7.1fx %7.1fx %7.1fx | %s%s" % (
            name, calls, median["plain"], median["pytrace"], median["tree"], median["settrace"],
            median["pytrace"] / median["plain"], median["tree"] / median["plain"],
            median["settrace"] / median["plain"], per_call, "  LOSS %s" % loss if loss else ""))


if __name__ == "__main__":
    main()
