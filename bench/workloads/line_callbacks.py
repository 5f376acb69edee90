"""The floor for executed lines (run_bench.py): the sys.monitoring callbacks
pytrace's line script installs (userspace/loader/line_events.cpp), installed
by the workload itself for code under $PYTRACE_BENCH_LINES_SCOPE, so that
bpftrace counting the probes pays what they cost without pytrace."""
import os
import sys

import _operator

_roots = (os.environ["PYTRACE_BENCH_LINES_SCOPE"].rstrip("/") + "/",)
_monitoring = sys.monitoring


def __pytrace_line__(code, line):
    if not code.co_filename.startswith(_roots):
        return _monitoring.DISABLE


def __pytrace_start__(code, offset):
    if code.co_filename.startswith(_roots):
        _monitoring.set_local_events(3, code, _monitoring.events.PY_START | _monitoring.events.PY_RESUME)
    return _monitoring.DISABLE


_monitoring.use_tool_id(4, "bench")
_monitoring.use_tool_id(3, "bench")
_monitoring.register_callback(3, _monitoring.events.PY_START, _operator.is_)
_monitoring.register_callback(3, _monitoring.events.PY_RESUME, _operator.is_)
_monitoring.register_callback(4, _monitoring.events.PY_START, __pytrace_start__)
_monitoring.register_callback(4, _monitoring.events.LINE, __pytrace_line__)
_monitoring.set_events(4, _monitoring.events.PY_START | _monitoring.events.LINE)
