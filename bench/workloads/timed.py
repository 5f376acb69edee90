"""Imported first by every workload: says on stderr how long the program
itself ran, so that bench/run_bench.py can tell what a tracer costs while
the program runs from its start-up and from writing its output."""
import atexit
import sys
import time

_start = time.perf_counter()


@atexit.register
def _report():
    print("workload ran %.6f s" % (time.perf_counter() - _start), file=sys.stderr)
