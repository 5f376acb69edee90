"""Reports the test process's CPU time and end, as ../timed.py does."""
import os
import sys
import time

if os.environ.get("PYTRACE_BENCH_LINES_SCOPE"):  # the floor for executed lines
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import line_callbacks  # noqa: F401


def pytest_unconfigure(config):
    print("workload used %.6f s of CPU, ended at %.6f" % (time.process_time(), time.time()), file=sys.stderr)
