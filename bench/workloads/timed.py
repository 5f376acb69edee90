"""Imported first by every workload. At exit it says on stderr how much CPU
time the process used (the interpreter's own work, plus the probe traps and
BPF programs, which run in the traced thread's context) and when it ended,
so that bench/run_bench.py can tell what a tracer costs the program itself
from its start-up and from writing its output afterwards."""
import atexit
import os
import sys
import time

# The floor for executed lines: see line_callbacks.py.
if os.environ.get("PYTRACE_BENCH_LINES_SCOPE"):
    import line_callbacks  # noqa: F401


@atexit.register
def _report():
    print("workload used %.6f s of CPU, ended at %.6f" % (time.process_time(), time.time()), file=sys.stderr)
