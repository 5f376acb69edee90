# SPDX-License-Identifier: MIT
"""trace_pytest's pytest plugin: says which test runs when.

trace_pytest hands it to pytest as the module pytrace_pytest_plugin (no
file of it exists) and gives it an open descriptor in
PYTRACE_PYTEST_EVENTS_FD; one JSON line goes there when each test's run
(setup, call, teardown) starts and ends, with its node id, thread and
CLOCK_MONOTONIC time, and one per phase report. The calls themselves come
from the probes; this only labels them. It runs outside the traced scope,
so none of its own calls are logged.

PYTEST_DONT_REWRITE: it is imported before pytest starts, so pytest must not
try to rewrite its asserts (it would warn, and -W error would stop the run).
"""
import json
import os
import threading
import time

import pytest

_events = os.fdopen(int(os.environ.pop("PYTRACE_PYTEST_EVENTS_FD")), "w", buffering=1)


def _write(event, item_or_report, **fields):
    fields.update(event=event, nodeid=item_or_report.nodeid, tid=threading.get_native_id(),
                  ns=time.monotonic_ns())
    _events.write(json.dumps(fields) + "\n")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    lineno = item.location[1]
    _write("start", item, file=str(item.path), line=lineno + 1 if lineno is not None else 0)
    yield
    _write("end", item)


def pytest_runtest_logreport(report):
    _write("report", report, when=report.when, outcome=report.outcome)


def pytest_unconfigure(config):
    _events.close()
