"""Reports the test process's CPU time and end, as ../timed.py does."""
import sys
import time


def pytest_unconfigure(config):
    print("workload used %.6f s of CPU, ended at %.6f" % (time.process_time(), time.time()), file=sys.stderr)
