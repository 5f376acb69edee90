"""Says on stderr how long the test session ran (see ../timed.py)."""
import sys
import time

_start = None


def pytest_sessionstart(session):
    global _start
    _start = time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    print("workload ran %.6f s" % (time.perf_counter() - _start), file=sys.stderr)
