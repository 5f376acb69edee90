"""The floor for executed lines (run_bench.py): the sys.monitoring callbacks
pytrace's line script installs (userspace/loader/line_events.cpp), installed
by the workload itself for code under $PYTRACE_BENCH_LINES_SCOPE, so that
bpftrace counting the probes pays what they cost without pytrace."""
import itertools
import os
import sys

_root = os.environ["PYTRACE_BENCH_LINES_SCOPE"].rstrip("/") + "/"
_monitoring = sys.monitoring
_events = _monitoring.events
_TOOL = 5


def __pytrace_line__(code, line):
    if not code.co_filename.startswith(_root):
        return _monitoring.DISABLE


def __pytrace_start__(code, offset):
    if not code.co_filename.startswith(_root):
        return _monitoring.DISABLE
    if not _monitoring.get_local_events(_TOOL, code):
        _monitoring.set_local_events(_TOOL, code, _events.LINE)
    lines = [line for _, _, line in itertools.islice(code.co_lines(), 2)]
    if len(lines) == 2 and None not in lines and lines[0] != lines[1]:
        return _monitoring.DISABLE


def __pytrace_resume__(code, offset):
    if not code.co_filename.startswith(_root):
        return _monitoring.DISABLE


_monitoring.use_tool_id(_TOOL, "bench")
_monitoring.register_callback(_TOOL, _events.LINE, __pytrace_line__)
_monitoring.register_callback(_TOOL, _events.PY_START, __pytrace_start__)
_monitoring.register_callback(_TOOL, _events.PY_RESUME, __pytrace_resume__)
_monitoring.set_events(_TOOL, _events.PY_START | _events.PY_RESUME)
for _frame in sys._current_frames().values():
    while _frame is not None:
        if _frame.f_code.co_filename.startswith(_root):
            _monitoring.set_local_events(_TOOL, _frame.f_code, _events.LINE)
        _frame = _frame.f_back
