# SPDX-License-Identifier: MIT
"""Cost of tracing, measured side by side in one run (as root).

For each workload it runs, interleaved, ROUNDS times each:
  plain     the workload, untraced
  floor     bpftrace only counting the two function probes' hits (the
            uprobe traps every USDT tracer pays), when bpftrace is installed
  pytrace   trace_program -o FILE (trace_pytest for the pytest run)
  noargs    the same with --no-arg-values (probe-only: no argument values)
  nofilter  the same with --no-kernel-filter: every call sent by the kernel,
            also those that cannot be logged (what filtering in the kernel saves)
  narrow    the same with a scope that holds nothing (every probe still
            fires; nothing is logged)
  settrace  seed_tracer.py: a sys.settrace tracer doing per call what the
            original tool did (the reference the product replaces)
  lines     pytrace with --track-executed-lines
  linefloor the floor with the same sys.monitoring line callbacks installed
            by the workload itself (workloads/timed.py): what lines cost
            without pytrace's BPF programs and reader
and prints the median wall times, then the cost per probe hit of each
tracer three ways: in the traced program (its CPU time, which
workloads/timed.py reports, over plain), over whole runs, and with fixed
costs removed (its time over plain on the workload, less the same on an
empty script), each divided by the probe hits bpftrace counted. Ratios
from one run are comparable; absolute times on a shared machine are not.
Then start-up (from starting trace_program to the script's first
bytecode), and with --big a 2 * 10^7-call test suite (workloads/big_suite).

usage: sudo bench/run.sh [--rounds N] [--big] [--tracer PATH] [--pytest-tracer PATH] [--python PATH]
"""

import argparse
import http.client
import os
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS_DIR = os.path.join(HERE, "workloads")
SUITE = os.path.join(WORKLOADS_DIR, "pytest_suite")


class Workload:
    def __init__(self, name, script=None, args=(), pytest=False):
        self.name = name
        self.script = script and os.path.join(WORKLOADS_DIR, script)
        self.args = list(args)
        self.pytest = pytest
        self.cwd = SUITE if pytest else WORKLOADS_DIR
        self.scope = SUITE if pytest else WORKLOADS_DIR

    def program(self):
        """What runs after `python`: the script, or pytest on the suite."""
        if self.pytest:
            return ["-m", "pytest", "-q", "-p", "no:cacheprovider", "."]
        return [self.script] + self.args


WORKLOADS = [
    Workload("empty", "empty.py"),
    Workload("recursion", "calls.py", ["25"]),
    Workload("objects", "objects.py", ["3000"]),
    Workload("stdlib", "stdlib.py", ["20000"]),
    Workload("pytest", pytest=True),
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
            if fields[0].split("(")[-1] in ("trace_program", "trace_pytest") and not fields[1].startswith("Z"):
                busy = True
                break
        if not busy:
            return
        time.sleep(0.02)


def read_metadata(path):
    """The metadata of a trace, without loading its calls: a process that
    held them would pass its size on to every child it forks (ru_maxrss)."""
    text = ""
    with open(path) as f:
        while '"trace_data"' not in text:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            text += chunk
    head = text[:text.index('"trace_data"')].rstrip().rstrip(",") + "}"
    return json.loads(head)["metadata"]


def count_executed_lines(path):
    """Line runs in a trace's executed_line entries (the sum of their
    `lines`; executed_lines_count counts the entries), read a chunk at a time."""
    runs, tail = 0, ""
    pattern = re.compile(r'"lines":\[([0-9,]*)\]')
    with open(path) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            text = tail + chunk
            end = text.rfind("\n")  # entries end at newlines: none is cut at one
            for match in pattern.finditer(text[:end + 1]):
                runs += match.group(1).count(",") + 1
            tail = text[end + 1:]
    return runs


def run(command, cwd, env=None):
    """Wall time, peak RSS (MB; the largest of the process and the children it
    waited for), stdout, stderr, when it ended, and the CPU time of the
    command and the children it waited for (the traced program is the
    tracer's child: both counted) of one run."""
    wait_for_detach()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err,
                                   env=dict(os.environ, **env) if env else None)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        ended = time.time()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), stderr))
    return elapsed, usage.ru_maxrss / 1024, stdout, stderr, ended, usage.ru_utime + usage.ru_stime


def workload_report(stderr, ended):
    """The workload's CPU time (timed.py), and how long after its end the
    command ended."""
    match = re.search(r"workload used ([\d.]+) s of CPU, ended at ([\d.]+)", stderr)
    return float(match.group(1)), ended - float(match.group(2))


class Bench:
    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.empty_scope = os.path.join(out, "nothing-here")
        os.makedirs(self.empty_scope)

    def commands(self, w):
        py, program = self.args.python, w.program()
        trace_file = os.path.join(self.out, w.name + ".json")
        if w.pytest:
            tracer = [self.args.pytest_tracer, "--python", py]
            tail = ["--"] + program[2:]
        else:
            tracer = [self.args.tracer, "--python", py]
            tail = program
        commands = {
            "plain": [py] + program,
            "pytrace": tracer + ["--scope", w.scope, "-o", trace_file] + tail,
            "noargs": tracer + ["--no-arg-values", "--scope", w.scope, "-o", os.path.join(self.out, "noargs.json")]
            + tail,
            "nofilter": tracer + ["--no-kernel-filter", "--scope", w.scope, "-o",
                                  os.path.join(self.out, "nofilter.json")] + tail,
            "narrow": tracer + ["--scope", self.empty_scope, "-o", os.path.join(self.out, "narrow.json")] + tail,
            "settrace": [py, os.path.join(HERE, "seed_tracer.py"), "--scope", w.scope,
                         "-o", os.path.join(self.out, "settrace.json")] + program,
            "lines": tracer + ["--track-executed-lines", "--scope", w.scope, "-o", self.lines_file(w)] + tail,
        }
        if shutil.which("bpftrace"):
            probes = "usdt:%s:python:function__entry { @entries = count(); } " \
                     "usdt:%s:python:function__return { @returns = count(); }" % (py, py)
            commands["floor"] = ["bpftrace", "-q", "-e", probes, "-c", " ".join([py] + program)]
            commands["linefloor"] = commands["floor"]
        return commands, trace_file

    def lines_file(self, w):
        return os.path.join(self.out, w.name + ".lines.json")

    @staticmethod
    def environment(key, w):
        return {"PYTRACE_BENCH_LINES_SCOPE": w.scope} if key == "linefloor" else None

    def measure(self, w):
        commands, trace_file = self.commands(w)
        times = {key: [] for key in commands}
        cpu = {key: [] for key in commands}
        after = {key: [] for key in commands}
        total_cpu = {key: [] for key in commands}
        rss = []
        hits = None
        for _ in range(self.args.rounds):
            for key, command in commands.items():
                elapsed, peak, stdout, stderr, ended, all_cpu = run(command, w.cwd, self.environment(key, w))
                times[key].append(elapsed)
                total_cpu[key].append(all_cpu)
                used, tail = workload_report(stderr, ended)
                cpu[key].append(used)
                after[key].append(tail)
                if key == "pytrace":
                    rss.append(peak)
                if key == "floor" and hits is None:
                    counts = dict(re.findall(r"@(\w+): (\d+)", stdout))
                    hits = int(counts.get("entries", 0)) + int(counts.get("returns", 0))
        metadata = read_metadata(trace_file)
        loss = metadata["loss"]
        lines = read_metadata(self.lines_file(w))
        lines_lost = sum(v for k, v in lines["loss"].items() if k != "open_at_end")
        line_runs = count_executed_lines(self.lines_file(w))
        return {
            "median": {key: statistics.median(values) for key, values in times.items()},
            "cpu": {key: statistics.median(values) for key, values in cpu.items()},
            "after": {key: statistics.median(values) for key, values in after.items()},
            "total_cpu": {key: statistics.median(values) for key, values in total_cpu.items()},
            "hits": hits,
            "entries": metadata["total_frames"],
            "lost": sum(v for k, v in loss.items() if k != "open_at_end"),
            "rss": statistics.median(rss),
            "output": os.path.getsize(trace_file),
            "lines": line_runs,
            "lines_lost": lines_lost,
        }


def startup(args, out):
    """Median time from starting the command to the script's first bytecode."""
    script = os.path.join(out, "first_bytecode.py")
    with open(script, "w") as f:
        f.write("import time\nprint(time.time())\n")
    results = {}
    for key, command in (("plain", [args.python, script]),
                         ("pytrace", [args.tracer, "--python", args.python, "-o", os.path.join(out, "s.json"), script])):
        samples = []
        for _ in range(args.rounds):
            wait_for_detach()
            start = time.time()
            stdout = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            samples.append(float(stdout.split()[0]) - start)
        results[key] = statistics.median(samples)
    return results


FORKS = """import os, sys, time
def child():
    return 1
n = int(sys.argv[1])
start = time.perf_counter()
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        child()
        os._exit(0)
    os.waitpid(pid, 0)
print((time.perf_counter() - start) / n)
"""

OTHER = """import sys, time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
start = time.process_time()
fib(int(sys.argv[1]))
print(time.process_time() - start)
"""


def processes(args, out):
    """What children and bystanders pay: a fork (the child calls one
    function and exits) untraced and traced, and fib(22) in an unrelated
    process of the same interpreter file, alone and while another program
    is traced (the probes are in the file for every process)."""
    forks, other, sleeper = (os.path.join(out, name) for name in ("forks.py", "other.py", "sleeper.py"))
    for path, text in ((forks, FORKS), (other, OTHER), (sleeper, "import time\ntime.sleep(3600)\n")):
        with open(path, "w") as f:
            f.write(text)
    samples = {"plain": [], "pytrace": [], "alone": [], "beside": []}
    for _ in range(args.rounds):
        wait_for_detach()
        samples["plain"].append(float(subprocess.run([args.python, forks, "200"], capture_output=True, text=True,
                                                     check=True).stdout))
        samples["pytrace"].append(float(subprocess.run(
            [args.tracer, "--python", args.python, "-o", os.path.join(out, "f.json"), forks, "200"],
            capture_output=True, text=True, check=True).stdout))
        wait_for_detach()  # no probes left in the file from the traced run before
        samples["alone"].append(float(subprocess.run([args.python, other, "22"], capture_output=True, text=True,
                                                     check=True).stdout))
        tracing = subprocess.Popen([args.tracer, "--python", args.python, "-o", os.path.join(out, "s.json"), sleeper],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in tracing.stderr:  # "tracing ...": the probes are attached
            if "tracing" in line:
                break
        samples["beside"].append(float(subprocess.run([args.python, other, "22"], capture_output=True, text=True,
                                                      check=True).stdout))
        tracing.send_signal(2)
        tracing.wait()
    return {k: statistics.median(v) for k, v in samples.items()}


def peak_memory(pid, peak):
    """Samples process `pid`'s resident memory into `peak` (MiB): its own
    (anonymous), the file pages it has mapped (the spill file's, the ring
    buffer's), and the kernel's own record of its peak (VmHWM)."""
    try:
        for line in open("/proc/%d/status" % pid):
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile", "VmHWM"):
                peak[key] = max(peak.get(key, 0), int(line.split()[1]) / 1024)
    except OSError:
        pass


def watched(command, cwd, env=None):
    """Runs `command`, sampling its memory every 50 ms. Returns (seconds, peak, stderr)."""
    wait_for_detach()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=dict(os.environ, **(env or {})), text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {}
    while process.poll() is None:
        peak_memory(process.pid, peak)
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    err = process.stderr.read()
    if process.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), err))
    return elapsed, peak, err


def compressed_metadata(path):
    text = subprocess.run("zstd -q -d -c '%s' | head -c 200000" % path, shell=True, capture_output=True,
                          text=True).stdout
    head = text[:text.index('"trace_data"')].rstrip().rstrip(",") + "}"
    return json.loads(head)["metadata"]


def big_run(args, out):
    """bench/workloads/big_suite: 2 * 10^7 calls in the scope, under
    trace_pytest, written as .zst; the tracer's peak memory (its own, and
    the spill file's pages it maps), records lost. Then the same suite at
    2 * 10^6 calls written as plain JSON. The viewer on each: its time and
    memory until it serves the trace and while it sends the page's model."""
    suite = os.path.join(WORKLOADS_DIR, "big_suite")
    results = {}
    for calls, name in ((20000000, "big.json.zst"), (2000000, "big.json")):
        trace_file = os.path.join(out, name)
        command = [args.pytest_tracer, "--python", args.python, "-o", trace_file, "--", "-q", "-p",
                   "no:cacheprovider", "."]
        elapsed, peak, stderr = watched(command, suite, {"PYTRACE_BENCH_CALLS": str(calls)})
        meta = compressed_metadata(trace_file) if name.endswith(".zst") else read_metadata(trace_file)
        results[name] = {"calls": meta["total_frames"], "elapsed": elapsed, "peak": peak,
                         "lost": sum(v for k, v in meta["loss"].items() if k != "open_at_end"),
                         "size": os.path.getsize(trace_file)}
    view = os.path.join(os.path.dirname(args.pytest_tracer), "..", "viewer", "pytrace_view")
    if os.path.exists(view):
        for name in ("big.json.zst", "big.json"):
            results["viewer " + name] = view_run(view, os.path.join(out, name), out)
    for name in ("big.json.zst", "big.json"):
        os.unlink(os.path.join(out, name))
    return results


def view_run(view, trace_file, out):
    """The viewer on `trace_file`: seconds until it serves, its peak memory,
    and the page's model (GET /api/model) fetched whole."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    process = subprocess.Popen([view, trace_file, str(port)], cwd=out, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    start = time.perf_counter()
    peak = {}
    seen = threading.Event()
    threading.Thread(target=lambda: any(line.startswith("Press Ctrl-C") for line in process.stdout) and seen.set(),
                     daemon=True).start()
    while process.poll() is None and not seen.is_set():
        peak_memory(process.pid, peak)
        time.sleep(0.05)
    ready = time.perf_counter() - start
    model_bytes = 0
    if seen.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", "/api/model")
        response = connection.getresponse()
        while True:
            piece = response.read(1 << 20)
            if not piece:
                break
            model_bytes += len(piece)
            peak_memory(process.pid, peak)
        connection.close()
    process.terminate()
    _, err = process.communicate()
    if not seen.is_set():
        sys.exit("the viewer did not start on %s:\n%s" % (trace_file, err))
    return {"elapsed": ready, "peak": peak, "model_bytes": model_bytes}


def main():
    parser = argparse.ArgumentParser()
    build = os.path.join(HERE, "..", "build", "cli")
    parser.add_argument("--tracer", default=os.path.join(build, "trace_program"))
    parser.add_argument("--pytest-tracer", default=os.path.join(build, "trace_pytest"))
    default_python = "/opt/pytrace/python3.15/usr/bin/python3.15"
    marker = os.path.join(HERE, "..", ".pytrace-python")
    if os.path.exists(marker):
        default_python = open(marker).read().strip()
    parser.add_argument("--python", default=default_python)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big", action="store_true",
                        help="also trace a 2 * 10^7-call test suite and show a 2 * 10^6-call one in the viewer")
    parser.add_argument("--only", help="comma-separated workload names (empty is always run)")
    args = parser.parse_args()
    args.tracer, args.pytest_tracer = os.path.abspath(args.tracer), os.path.abspath(args.pytest_tracer)
    if os.geteuid() != 0:
        sys.exit("run_bench.py: needs root (the tracers load BPF programs)")
    workloads = WORKLOADS
    if args.only:
        workloads = [w for w in WORKLOADS if w.name == "empty" or w.name in args.only.split(",")]

    out = tempfile.mkdtemp(prefix="pytrace-bench-")
    try:
        bench = Bench(args, out)
        print("python %s, %d rounds, medians; floor: %s\n" % (
            args.python, args.rounds, "bpftrace" if shutil.which("bpftrace") else "not measured (no bpftrace)"))
        results = {}
        for w in workloads:
            results[w.name] = bench.measure(w)
            print("  measured %s" % w.name, file=sys.stderr)
        report(results)
        s = startup(args, out)
        print("\nstart-up, command to the script's first bytecode: plain %.0f ms, trace_program %.0f ms" % (
            s["plain"] * 1e3, s["pytrace"] * 1e3))
        p = processes(args, out)
        print("a fork (the child calls one function and exits): plain %.0f us, traced %.0f us (%.2fx)" % (
            p["plain"] * 1e6, p["pytrace"] * 1e6, p["pytrace"] / p["plain"]))
        print("fib(22) in an unrelated process of the same interpreter: alone %.1f ms, while another program "
              "is traced %.1f ms (%.1fx)" % (p["alone"] * 1e3, p["beside"] * 1e3, p["beside"] / p["alone"]))
        if args.big:
            b = big_run(args, out)
            for name, r in ((n, b[n]) for n in ("big.json.zst", "big.json")):
                print("\n%s: %d calls traced and written in %.1f s; %d records lost; tracer peak resident memory "
                      "%.0f MiB (VmHWM), of its own %.0f MiB; %.1f bytes per call" % (
                          name, r["calls"], r["elapsed"], r["lost"], r["peak"].get("VmHWM", 0),
                          r["peak"].get("RssAnon", 0), r["size"] / max(1, r["calls"])), end="")
            for name in ("big.json.zst", "big.json"):
                if "viewer " + name in b:
                    v = b["viewer " + name]
                    print("\nthe viewer on %s: serving after %.1f s; peak memory %.0f MiB of its own (the page's "
                          "model of %.0f MiB sent), %.0f MiB of the file's pages" % (
                              name, v["elapsed"], v["peak"].get("RssAnon", 0), v["model_bytes"] / 1048576,
                              v["peak"].get("RssFile", 0)), end="")
            print()
    finally:
        shutil.rmtree(out, ignore_errors=True)


def report(results):
    keys = [k for k in ("plain", "floor", "pytrace", "noargs", "narrow", "settrace") if k in results["empty"]["median"]]
    print("%-10s %9s %9s | %s" % ("workload", "calls", "hits", " ".join("%9s" % (k + " s") for k in keys)))
    for name, r in results.items():
        print("%-10s %9s %9s | %s" % (name, r["entries"], r["hits"] if r["hits"] is not None else "-",
                                    " ".join("%9.3f" % r["median"][k] for k in keys)))
    empty = results["empty"]

    def per_hit(r, key):
        if r["hits"] is None:
            return None
        added = (r["median"][key] - r["median"]["plain"]) - (empty["median"][key] - empty["median"]["plain"])
        return added / (r["hits"] - (empty["hits"] or 0)) * 1e6

    print("\nper probe hit, in the traced program (us): its CPU time (the traps and BPF programs run in")
    print("its threads) over plain's, less the same on the empty script, over the hits; no start-up, no output.")
    print("'after' is how long the tracer ran on once the program ended (reading, grouping, writing).")
    print("%-10s %7s %8s %7s %8s %8s %8s %9s" % ("workload", "floor", "pytrace", "x floor", "noargs", "narrow",
                                                 "nofilter", "after s"))
    for name, r in results.items():
        if name == "empty" or r["hits"] is None or "floor" not in r["cpu"]:
            continue
        hits = r["hits"] - (empty["hits"] or 0)
        cost = {k: ((r["cpu"][k] - r["cpu"]["plain"]) - (empty["cpu"][k] - empty["cpu"]["plain"])) / hits * 1e6
                for k in ("floor", "pytrace", "noargs", "narrow", "nofilter") if k in r["cpu"]}
        print("%-10s %7.2f %8.2f %6.2fx %8.2f %8.2f %8.2f %9.2f" % (
            name, cost["floor"], cost["pytrace"], cost["pytrace"] / cost["floor"],
            cost.get("noargs", float("nan")), cost.get("narrow", float("nan")), cost.get("nofilter", float("nan")),
            r["after"]["pytrace"]))

    print("\nper probe hit, counting the tracer's own CPU (us): the CPU time of the whole command (tracer and")
    print("traced program; bpftrace and the program for the floor) over plain's, less the same on the empty")
    print("script, over the hits: the reader, the grouping and the writing included, start-up not.")
    print("%-10s %7s %8s %7s %9s %7s" % ("workload", "floor", "pytrace", "x floor", "nofilter", "x floor"))
    for name, r in results.items():
        if name == "empty" or r["hits"] is None or "floor" not in r["total_cpu"]:
            continue
        hits = r["hits"] - (empty["hits"] or 0)
        cost = {k: ((r["total_cpu"][k] - r["total_cpu"]["plain"]) - (empty["total_cpu"][k] - empty["total_cpu"]["plain"]))
                / hits * 1e6 for k in ("floor", "pytrace", "nofilter")}
        print("%-10s %7.2f %8.2f %6.2fx %9.2f %6.2fx" % (name, cost["floor"], cost["pytrace"], cost["pytrace"] / cost["floor"],
                                                     cost["nofilter"], cost["nofilter"] / cost["floor"]))

    print("\nper executed line (--track-executed-lines), in the traced program (us): its CPU time with the")
    print("option over without, over the lines recorded; the floor: bpftrace counting the probes with the same")
    print("sys.monitoring callbacks installed by the workload, over bpftrace without them")
    print("%-10s %9s %7s %8s %7s %5s" % ("workload", "lines", "floor", "pytrace", "x floor", "lost"))
    for name, r in results.items():
        if name == "empty" or not r["lines"] or "linefloor" not in r["cpu"]:
            continue
        floor = (r["cpu"]["linefloor"] - r["cpu"]["floor"]) / r["lines"] * 1e6
        ours = (r["cpu"]["lines"] - r["cpu"]["pytrace"]) / r["lines"] * 1e6
        print("%-10s %9d %7.2f %8.2f %6.2fx %5d" % (name, r["lines"], floor, ours, ours / floor if floor > 0 else
                                                     float("nan"), r["lines_lost"]))

    print("\nper probe hit, whole runs (us): time over plain / hits, start-up included as in the floor's own figure")
    print("%-10s %7s %8s %7s" % ("workload", "floor", "pytrace", "x floor"))
    for name, r in results.items():
        if name == "empty" or r["hits"] is None or "floor" not in r["median"]:
            continue
        whole = {k: (r["median"][k] - r["median"]["plain"]) / r["hits"] * 1e6 for k in ("floor", "pytrace")}
        print("%-10s %7.2f %8.2f %6.2fx" % (name, whole["floor"], whole["pytrace"], whole["pytrace"] / whole["floor"]))

    print("\nper probe hit, fixed costs removed (us), and the tracer's own figures:")
    print("%-10s %7s %8s %7s %8s %8s %9s %9s | %5s %8s %9s %9s" % (
        "workload", "floor", "pytrace", "x floor", "noargs", "narrow", "settrace", "x settrace",
        "lost", "peak MB", "B/call", "output MB"))
    for name, r in results.items():
        if name == "empty":
            continue
        floor, ours, noargs, narrow, ref = (per_hit(r, k) if k in r["median"] else None
                                            for k in ("floor", "pytrace", "noargs", "narrow", "settrace"))
        fmt = lambda v, spec="%7.2f": spec % v if v is not None else "-"  # noqa: E731
        print("%-10s %7s %8s %7s %8s %8s %9s %9s | %5d %8.0f %9.0f %9.1f" % (
            name, fmt(floor), fmt(ours, "%8.2f"), fmt(ours / floor if floor else None, "%6.2fx"),
            fmt(noargs, "%8.2f"), fmt(narrow, "%8.2f"), fmt(ref, "%9.2f"), fmt(ours / ref if ref else None, "%8.2fx"),
            r["lost"], r["rss"], (r["rss"] - empty["rss"]) * 1048576 / max(1, r["entries"]),
            r["output"] / 1048576))


if __name__ == "__main__":
    main()
