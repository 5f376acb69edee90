# SPDX-License-Identifier: MIT
"""pytrace_view, the viewer's server, at its edges: what it serves, where it
listens, what it refuses, how it saves, and one clear message for each bad
input.

usage: server_checks.py --view PATH [--script PATH] CASE
       server_checks.py --list

Exit codes: 0 pass, 1 fail, 77 skipped (says why).
"""

import argparse
import contextlib
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Cases, Failure, Skip, remove_tree, run  # noqa: E402

CASES = Cases()
case = CASES.case
NOBODY = 65534


def entry(i, parent, depth, name, location, call_type="function_call", external=False):
    return {"event": "function_call", "location": location, "parent_location": None,
            "parent_call": "<call of %s>" % name, "name": name, "arguments": {}, "depth": depth,
            "is_external": external, "call_type": call_type, "args": {}, "kwargs": {},
            "id": i, "parent_id": parent, "thread_id": 42, "pid": 42, "file": "/p/" + location.split(":")[0],
            "line": 1, "qualname": name, "start_ns": i * 10, "duration_ns": 100 - i, "importing": None}


def write_trace(path):
    """A small trace in the documented form: a module calling main, main
    calling step three times, an import and an external call."""
    data = [entry(0, None, 0, "<module>", "demo.py", "module_execution"),
            entry(1, 0, 1, "<module>", "helpers.py", "import"),
            entry(2, 0, 1, "main", "demo.py:5")]
    for k in range(3):
        data.append(entry(3 + 2 * k, 2, 2, "step", "demo.py:9"))
        data.append(entry(4 + 2 * k, 3 + 2 * k, 3, "<lambda>", "demo.py:10", "lambda_function"))
    data.append(entry(9, 2, 2, "loads", "/usr/lib/python3/json/__init__.py:299", "external_call", True))
    data[1]["importing"] = "helpers"
    metadata = {"original_command": "trace_program demo.py", "scope_path": "/p", "timestamp": "2026-11-26T10:00:00",
                "main_file": "/p/demo.py", "total_frames": len(data),
                "threads": [{"thread_id": 42, "pid": 42, "name": "python3", "calls": len(data)}]}
    with open(path, "w") as f:
        json.dump({"metadata": metadata, "trace_data": data}, f)
    return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """pytrace_view running on a free port, ready when it printed its URL."""

    def __init__(self, command, port):
        self.port = port
        self.address = "127.0.0.1"  # where requests go
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                rc = self.process.wait()
                raise Failure("the server exited with %d before serving:\n%s" % (rc, self.process.stderr.read()))
            self.banner.append(line)
            if line.startswith("Press Ctrl-C"):
                return
        raise Failure("the server did not start within 60 s")

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection(self.address, self.port, timeout=30)
        payload = json.dumps(body) if isinstance(body, (dict, list)) else body
        all_headers = {"Content-Type": "application/json"} if payload is not None else {}
        all_headers.update(headers or {})
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        self.last_headers = dict(response.getheaders())
        return response.status, response.getheader("Content-Type", ""), data

    def json(self, method, path, body=None, headers=None):
        status, content_type, data = self.request(method, path, body, headers)
        if not content_type.startswith("application/json"):
            raise Failure("%s %s answered %s, not JSON" % (method, path, content_type))
        return status, json.loads(data)

    def model(self):
        """GET /api/model, decoded as the page decodes it (viewer/view_model.h):
        the JSON header with each column as a list."""
        status, content_type, data = self.request("GET", "/api/model")
        if status != 200 or content_type != "application/octet-stream":
            raise Failure("GET /api/model answered %s %s" % (status, content_type))
        header_length = struct.unpack_from("<I", data, 0)[0]
        model = json.loads(data[8:8 + header_length])
        for table in (model["calls"], model["groups"]):
            for name, column in table.pop("columns").items():
                size = {"i32": 4, "f64": 8, "u8": 1}[column["type"]]
                offset = 8 + header_length + column["offset"]
                expect(offset % 8 == 0 and offset + size * table["count"] <= len(data),
                       "column %s is out of place" % name)
                code = {"i32": "i", "f64": "d", "u8": "B"}[column["type"]]
                table[name] = list(struct.unpack_from("<%d%s" % (table["count"], code), data, offset))
        return status, model

    def stop(self, sig=signal.SIGINT):
        self.process.send_signal(sig)
        try:
            rc = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Failure("the server did not stop on %s" % signal.Signals(sig).name)
        return rc, self.process.stdout.read(), self.process.stderr.read()


class Env:
    def __init__(self, view, script, tmp):
        self.view = view
        self.script = script
        self.tmp = tmp
        self.trace = os.path.join(tmp, "traces", "demo.json")
        os.makedirs(os.path.dirname(self.trace))
        self.data = write_trace(self.trace)
        self.servers = []

    def serve(self, *args, trace=None, command=None):
        port = free_port()
        server = Server((command or [self.view]) + [trace or self.trace, str(port)] + list(args), port)
        self.servers.append(server)
        return server

    def run_view(self, *args, as_nobody=False, env=None):
        command = [self.view] + list(args)
        if as_nobody:
            command = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + command
        return subprocess.run(command, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, **(env or {})))

    def close(self):
        for server in self.servers:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()


def expect(condition, message):
    if not condition:
        raise Failure(message)


def expect_one_message(result, code, phrase):
    expect(result.returncode == code,
           "exit code %d, expected %d\nstderr: %s" % (result.returncode, code, result.stderr))
    expect(phrase in result.stderr, "stderr lacks %r:\n%s" % (phrase, result.stderr))
    expect("pytrace_view:" in result.stderr and "Serving" not in result.stdout,
           "not one clear message:\n" + result.stdout + result.stderr)


@case
def serves_the_page_the_model_and_each_entry(env):
    server = env.serve()
    status, content_type, page = server.request("GET", "/")
    expect(status == 200 and content_type.startswith("text/html") and b"viewer.js" in page, "GET / is not the page")
    for path in ("/viewer.js", "/style.css"):
        expect(server.request("GET", path)[0] == 200, "GET %s failed" % path)
    status, model = server.model()
    expect(status == 200 and model["calls"]["count"] == len(env.data), "the model does not hold every call")
    expect(model["trace"]["path"] == env.trace, "the model names %s" % model["trace"]["path"])
    # Each call's own entry, as written in the trace (the original viewer
    # showed the first same-named call's fields on every row).
    for i, original in enumerate(env.data):
        status, served = server.json("GET", "/api/entry/%d" % i)
        expect(status == 200 and served == original, "entry %d served as %s" % (i, served))
    status, answer = server.json("GET", "/api/entry/%d" % len(env.data))
    expect(status == 404 and "no call" in answer["error"], "a missing entry answered %d %s" % (status, answer))
    status, answer = server.json("GET", "/etc/passwd")
    expect(status == 404 and "error" in answer, "an unknown path answered %d" % status)


@case
def serves_every_module_of_the_page_as_javascript(env):
    """The page is ES modules: each must come back with a JavaScript type
    (browsers refuse a module served as anything else)."""
    server = env.serve()
    web = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "web")
    for name in sorted(os.listdir(web)):
        status, content_type, body = server.request("GET", "/" + name)
        expected = {"js": "text/javascript", "css": "text/css", "html": "text/html"}[name.rsplit(".", 1)[1]]
        expect(status == 200 and content_type.startswith(expected), "%s answered %d %s" % (name, status, content_type))
        expect(body == open(os.path.join(web, name), "rb").read(), "%s is not the file in web/" % name)
        server.request("GET", "/" + name, headers={"Accept-Encoding": "gzip, deflate, br"})
        expect("Content-Encoding" not in server.last_headers, "%s was compressed" % name)


@case
def exports_the_asked_calls_and_refuses_what_it_cannot(env):
    """POST /api/export streams the calls of the ranges in a format, as a
    download named after the trace; a bad request, another site, and a
    trace without times get one message each."""
    server = env.serve()
    status, content_type, body = server.request("POST", "/api/export", {"format": "chrome", "ranges": [[0, 9]]})
    expect(status == 200 and content_type == "application/octet-stream",
           "chrome export answered %d %s" % (status, content_type))
    expect(server.last_headers.get("Content-Disposition") == 'attachment; filename="demo.trace.json"',
           "offered as %s" % server.last_headers.get("Content-Disposition"))
    boxes = [e for e in json.loads(body)["traceEvents"] if e["ph"] == "X"]
    expect([e["name"] for e in boxes] == [e["qualname"] for e in env.data], "not every call: %s" % boxes)
    # This trace's times are made up: main (20-118 ns) starts while its
    # sibling, helpers' import (10-109), runs, and ends after its parent
    # (0-100). Boxes must nest: main starts when its sibling ends, which is
    # cut to its parent's end.
    expect(boxes[1]["ts"] == 0.01 and boxes[1]["dur"] == 0.09, "the import's times: %s" % boxes[1])
    expect(boxes[2]["ts"] == 0.1 and boxes[2]["dur"] == 0, "main's times: %s" % boxes[2])
    # Sent as they are, whatever the browser accepts (compressing 100 MB took minutes).
    server.request("POST", "/api/export", {"format": "speedscope", "ranges": [[0, 9]]},
                   headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    expect("Content-Encoding" not in server.last_headers, "the export was compressed: %s" % server.last_headers)
    status, content_type, body = server.request("POST", "/api/export", {"format": "collapsed", "ranges": [[2, 3]]})
    expect(status == 200, "collapsed export answered %d" % status)
    # main alone is 20-118 ns, step 30-127 (cut at 118): self times 10 and 88 ns.
    expect(body.decode() == "main (demo.py:5) 10\nmain (demo.py:5);step (demo.py:9) 88\n", "collapsed: %r" % body)
    status, _, body = server.request("POST", "/api/export", {"format": "speedscope", "ranges": []})
    expect(status == 200 and json.loads(body)["profiles"] == [], "an empty export answered %d %s" % (status, body))
    for request, phrase in [
        ({"format": "svg", "ranges": [[0, 0]]}, "chrome, speedscope or collapsed"),
        ({"ranges": [[0, 0]]}, "chrome, speedscope or collapsed"),
        ({"format": "chrome", "ranges": [[3, 3], [1, 1]]}, "not in order"),
        ({"format": "chrome"}, "no \"ranges\""),
    ]:
        status, answer = server.json("POST", "/api/export", request)
        expect(status == 400 and phrase in answer["error"], "%s answered %d %s" % (request, status, answer))
    status, _ = server.json("POST", "/api/export", {"format": "chrome", "ranges": [[0, 0]]},
                            headers={"Origin": "http://attacker.example"})
    expect(status == 403, "a cross-site export answered %d" % status)
    # The original tool's traces have no start times.
    original = os.path.join(env.tmp, "original.json")
    data = [{k: v for k, v in e.items() if k != "start_ns"} for e in env.data]
    with open(original, "w") as f:
        json.dump({"metadata": {}, "trace_data": data}, f)
    status, answer = env.serve(trace=original).json("POST", "/api/export", {"format": "chrome", "ranges": [[0, 1]]})
    expect(status == 400 and "start time" in answer["error"], "an export without times answered %d %s" % (status, answer))
    result = env.run_view(original, "--export", "chrome", "-o", os.path.join(env.tmp, "o.json"))
    expect_one_message(result, 1, "start time")
    expect(not os.path.exists(os.path.join(env.tmp, "o.json")), "a refused export left a file")
    # The tool: compressed by name, never over the trace itself.
    packed = os.path.join(env.tmp, "demo.trace.json.gz")
    result = env.run_view(env.trace, "--export", "chrome", "-o", packed)
    expect(result.returncode == 0, result.stderr)
    with gzip.open(packed) as f:
        expect(len([e for e in json.load(f)["traceEvents"] if e["ph"] == "X"]) == len(env.data), "the .gz export")
    expect_one_message(env.run_view(env.trace, "--export", "collapsed", "-o", env.trace), 1,
                       "is the trace being exported")
    expect(json.load(open(env.trace))["trace_data"] == env.data, "the trace was overwritten")
    # Argument values that are not JSON (the viewer does not check them on
    # reading) are left out; the export stays JSON.
    broken = os.path.join(env.tmp, "broken.json")
    with open(broken, "w") as f:
        f.write(open(env.trace).read().replace('"arguments": {}', '"arguments": {"a": tru}', 1))
    status, _, body = env.serve(trace=broken).request("POST", "/api/export", {"format": "chrome", "ranges": [[0, 9]]})
    boxes = [e for e in json.loads(body)["traceEvents"] if e["ph"] == "X"]
    expect(status == 200 and len(boxes) == 10 and "arguments" not in boxes[0]["args"], "broken arguments: %s" % boxes[:1])
    # A name that is not a plain token is offered plainly.
    odd = os.path.join(env.tmp, 'we"ird\\ name.json')
    shutil.copy(env.trace, odd)
    odd_server = env.serve(trace=odd)
    status, _, _ = odd_server.request("POST", "/api/export", {"format": "speedscope", "ranges": [[0, 0]]})
    expect(status == 200 and odd_server.last_headers["Content-Disposition"] ==
           'attachment; filename="we_ird__name.speedscope.json"', "offered as %s" % odd_server.last_headers)


@case
def previews_give_each_calls_arguments_in_a_line(env):
    data = [dict(e) for e in env.data]
    data[3]["arguments"] = {"n": "3", "items": "['a', 'b']", "flag": True, "long": "x" * 500}
    data[4]["arguments"] = {"text": "é" * 200}
    path = os.path.join(env.tmp, "args.json")
    with open(path, "w") as f:
        json.dump({"metadata": {}, "trace_data": data}, f)
    server = env.serve(trace=path)
    status, previews = server.json("GET", "/api/previews?calls=3,0,4")
    expect(status == 200 and len(previews) == 3, "previews answered %d %s" % (status, previews))
    expect(previews[0].startswith("n=3, items=['a', 'b'], flag=true, long=xxx") and previews[0].endswith("…") and
           len(previews[0].encode()) <= 120, "preview: %r" % previews[0])
    expect(previews[1] == "", "a call without arguments: %r" % previews[1])
    expect(previews[2].startswith("text=éé") and previews[2].endswith("…") and len(previews[2].encode()) <= 120,
           "cut inside a character: %r" % previews[2])
    for query in ("calls=99", "calls=1,x", "calls=-1", "calls=1,,2"):
        status, answer = server.json("GET", "/api/previews?" + query)
        expect(status == 400 and "call ids" in answer["error"], "%s answered %d %s" % (query, status, answer))
    status, previews = server.json("GET", "/api/previews?calls=" + ",".join(["1"] * 600))
    expect(status == 200 and len(previews) == 500, "600 asked answered %d with %d" % (status, len(previews)))


@case
def listens_on_loopback_only(env):
    server = env.serve()
    port_hex = "%04X" % server.port
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and local.endswith(":" + port_hex):
                    listening.append((table, local))
    expect(listening == [("/proc/net/tcp", "0100007F:" + port_hex)],
           "listening sockets on port %d: %s, expected 127.0.0.1 only" % (server.port, listening))
    banner = "".join(server.banner)
    expect("http://127.0.0.1:%d/" % server.port in banner, "no URL in:\n" + banner)
    expect("ssh -L %d:127.0.0.1:%d " % (server.port, server.port) in banner, "no SSH forwarding line in:\n" + banner)


@case
def refuses_requests_from_other_sites(env):
    server = env.serve()
    status, answer = server.json("GET", "/api/model", headers={"Host": "attacker.example:%d" % server.port})
    expect(status == 403 and "does not answer requests for attacker.example" in answer["error"],
           "a foreign Host was served: %d" % status)
    status, answer = server.json("POST", "/api/save", {"filename": "x", "ranges": [[0, 0]]},
                                 headers={"Origin": "http://attacker.example"})
    expect(status == 403, "a cross-site save answered %d" % status)
    # A form can post across sites without asking first; JSON cannot.
    status, answer = server.json("POST", "/api/save", json.dumps({"filename": "x", "ranges": [[0, 0]]}),
                                 headers={"Content-Type": "text/plain"})
    expect(status == 403, "a save in a form's encoding answered %d" % status)
    expect(not os.path.exists(os.path.join(os.path.dirname(env.trace), "x.json")), "a cross-site save wrote a file")
    # Another site's page (another port of this machine is one) cannot make
    # the browser fetch the data either; the page itself can be linked to.
    for site in ("cross-site", "same-site"):
        for path in ("/api/model", "/api/entry/0", "/api/previews?calls=0"):
            status, answer = server.json("GET", path, headers={"Sec-Fetch-Site": site})
            expect(status == 403 and "own page" in answer["error"], "%s %s answered %d" % (site, path, status))
        expect(server.request("GET", "/", headers={"Sec-Fetch-Site": site})[0] == 200, "the page is refused")
    for site in ("same-origin", "none"):
        expect(server.request("GET", "/api/entry/0", headers={"Sec-Fetch-Site": site})[0] == 200, site + " refused")


@case
def save_refuses_names_with_a_path(env):
    server = env.serve()
    directory = os.path.dirname(env.trace)
    before = {d: set(os.listdir(d)) for d in (directory, env.tmp, "/tmp")}
    for name in ("../escaped.json", "..", "sub/x.json", "/tmp/absolute.json", "a\\b.json", ".hidden.json",
                 "", "  ", "x..json", "a\nb"):
        status, answer = server.json("POST", "/api/save", {"filename": name, "ranges": [[0, 1]]})
        expect(status == 400 and answer.get("error"), "name %r answered %d %s" % (name, status, answer))
    status, answer = server.json("POST", "/api/save", {"filename": "x", "ranges": [[2, 2], [1, 1]]})
    expect(status == 400 and "not in order" in answer["error"], "unsorted ids answered %d %s" % (status, answer))
    status, answer = server.json("POST", "/api/save", "not json")
    expect(status == 400, "a body that is not JSON answered %d" % status)
    for d, names in before.items():
        new = set(os.listdir(d)) - names
        expect(not new, "files appeared in %s: %s" % (d, sorted(new)))


@case
def save_writes_next_to_the_trace_and_never_overwrites_silently(env):
    server = env.serve()
    directory = os.path.dirname(env.trace)
    kept = [0, 2, 3, 5, 7]  # no import, no external call, no lambda
    filters = {"show_external": False, "call_types": {"lambda_function": False}}
    status, answer = server.json("POST", "/api/save", {"filename": "kept", "ranges": [[0, 0], [2, 3], [5, 5], [7, 7]],
                                                       "filters": filters})
    target = os.path.join(directory, "kept.json")
    expect(status == 200 and answer["path"] == target and answer["calls"] == len(kept),
           "save answered %d %s" % (status, answer))
    saved = json.load(open(target))
    expect([e["original_id"] for e in saved["trace_data"]] == kept, "saved %s" % saved["trace_data"])
    expect([e["parent_id"] for e in saved["trace_data"]] == [None, 0, 1, 1, 1], "parents not relinked")
    meta = saved["metadata"]
    expect(meta["filtered"] is True and meta["filtered_total_calls"] == 5 and meta["original_total_calls"] == 10
           and meta["filters_applied"] == filters and meta["filtered_from"] == "demo.json",
           "metadata: %s" % meta)
    expect(not [n for n in os.listdir(directory) if "partial" in n], "a temporary file was left behind")

    # Again: refused, saying so, and the file is unchanged.
    status, answer = server.json("POST", "/api/save", {"filename": "kept.json", "ranges": [[0, 0]]})
    expect(status == 409 and answer["exists"] is True and "already exists" in answer["error"],
           "a second save answered %d %s" % (status, answer))
    expect(len(json.load(open(target))["trace_data"]) == 5, "the existing file was changed")
    status, answer = server.json("POST", "/api/save", {"filename": "kept.json", "ranges": [[0, 0]], "overwrite": True})
    expect(status == 200 and len(json.load(open(target))["trace_data"]) == 1, "overwrite did not replace the file")
    # The trace being shown is never replaced.
    status, answer = server.json("POST", "/api/save", {"filename": "demo.json", "ranges": [[0, 0]], "overwrite": True})
    expect(status == 409 and len(json.load(open(env.trace))["trace_data"]) == 10, "the trace itself was replaced")
    # What was saved can be shown.
    server.stop()
    again = env.serve(trace=target)
    status, model = again.model()
    expect(status == 200 and model["calls"]["count"] == 1, "the saved trace cannot be shown")


@case
def bad_inputs_get_one_message(env):
    missing = os.path.join(env.tmp, "missing.json")
    expect_one_message(env.run_view(missing), 1, "cannot read %s: No such file or directory" % missing)
    expect_one_message(env.run_view(env.tmp), 1, "it is a directory")
    secret = os.path.join(env.tmp, "secret.json")
    shutil.copy(env.trace, secret)
    os.chmod(secret, 0o600)
    os.chmod(env.tmp, 0o755)
    if os.geteuid() == 0:
        expect_one_message(env.run_view(secret, as_nobody=True), 1, "Permission denied")
    else:
        print("note: not root, so the unreadable-file check runs as this user on a file it cannot read")
        os.chmod(secret, 0)
        expect_one_message(env.run_view(secret), 1, "Permission denied")
    for name, text, phrase in [("broken.json", open(env.trace).read()[:300], "not valid JSON"),
                               ("garbage.json", "hello", "not valid JSON"),
                               ("empty.json", "", "the file is empty"),
                               ("other.json", '{"name": "x"}', 'no "trace_data" list'),
                               ("number.json", "42", "neither a trace document")]:
        path = os.path.join(env.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        expect_one_message(env.run_view(path, str(free_port())), 1, phrase)
    expect_one_message(env.run_view(env.trace, "http"), 2, "the port is a number")
    expect_one_message(env.run_view(env.trace, "--no-pattern"), 2, "unknown option --no-pattern")
    expect_one_message(env.run_view(), 2, "no trace file given")


@case
def reads_compressed_traces(env):
    """A trace written as FILE.gz or FILE.zst (the tools' -o) is shown as
    the same trace, whatever its name; a damaged or cut one gets one message."""
    plain = env.serve().model()[1]
    for suffix, compress in ((".gz", ["gzip", "-c"]), (".zst", ["zstd", "-q", "-c"]), (".trace", ["gzip", "-c"])):
        if not shutil.which(compress[0]):
            raise Failure("%s is not installed (scripts/setup.sh installs it)" % compress[0])
        path = os.path.join(env.tmp, "demo.json" + suffix)
        with open(path, "wb") as f:
            subprocess.run(compress + [env.trace], stdout=f, check=True)
        served = env.serve(trace=path).model()[1]
        trace = served.pop("trace")
        expect(served == {k: v for k, v in plain.items() if k != "trace"},
               "%s: the model differs from the plain trace's" % suffix)
        expect(trace["suggested_save"] == ("demo_filtered.json" if suffix != ".trace" else "demo.json_filtered.json"),
               "%s: saves are offered as %s" % (suffix, trace["suggested_save"]))
        data = open(path, "rb").read()
        cut = os.path.join(env.tmp, "cut" + suffix)
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        expect_one_message(env.run_view(cut, str(free_port())), 1, "cannot read %s (%s)" % (
            cut, "gzip" if compress[0] == "gzip" else "zstd"))


@case
def a_trace_that_would_fill_the_disk_is_refused(env):
    """A compressed trace is decompressed into a temporary file ($TMPDIR),
    not memory: one that expands past what that file system can spare is
    refused with one message, and leaves nothing behind."""
    if os.geteuid() != 0:
        raise Skip("the check needs a small file system of its own, and mounting one needs root")
    scratch = os.path.join(env.tmp, "scratch")
    os.makedirs(scratch)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", scratch], check=True)
    try:
        bomb = os.path.join(env.tmp, "bomb.json.zst")
        with open(bomb, "wb") as f:
            zeros = subprocess.Popen(["head", "-c", str(256 << 20), "/dev/zero"], stdout=subprocess.PIPE)
            subprocess.run(["zstd", "-q", "-c"], stdin=zeros.stdout, stdout=f, check=True)
            zeros.wait()
        expect(os.path.getsize(bomb) < 1 << 20, "the bomb is not small")
        expect_one_message(env.run_view(bomb, str(free_port()), env={"TMPDIR": scratch}), 1, "can spare")
        used = os.statvfs(scratch)
        expect(used.f_bfree == used.f_blocks, "the refused trace left %d blocks used in $TMPDIR" % (
            used.f_blocks - used.f_bfree))
        # Within what it can spare, the same directory serves.
        small = os.path.join(env.tmp, "demo.json.zst")
        with open(small, "wb") as f:
            subprocess.run(["zstd", "-q", "-c", env.trace], stdout=f, check=True)
        os.environ["TMPDIR"] = scratch
        try:
            status, model = env.serve(trace=small).model()
        finally:
            del os.environ["TMPDIR"]
        expect(status == 200 and model["calls"]["count"] == len(env.data), "the small trace is not shown")
    finally:
        env.close()
        subprocess.run(["umount", scratch], check=True)


def memory_cgroup(limit_bytes):
    """A new memory cgroup limited to `limit_bytes` (cgroup v2 or v1), or Skip."""
    if os.geteuid() != 0:
        raise Skip("limiting a process's memory takes a cgroup, which needs root")
    v2_controllers = "/sys/fs/cgroup/cgroup.subtree_control"
    if os.path.exists(v2_controllers) and "memory" in open(v2_controllers).read().split():
        root, limit_file = "/sys/fs/cgroup", "memory.max"
    elif os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        root, limit_file = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
    else:
        raise Skip("no cgroup memory controller here (neither cgroup v2's nor v1's)")
    group = os.path.join(root, "pytrace-view-check-%d" % os.getpid())
    os.mkdir(group)
    with open(os.path.join(group, limit_file), "w") as f:
        f.write(str(limit_bytes))
    return group


def write_big_trace(path, calls, argument_bytes):
    """A trace whose every call carries a long argument: many bytes, few calls."""
    value = "x" * argument_bytes
    with open(path, "w") as f:
        f.write('{"metadata": {"scope_path": "/p", "total_frames": %d},\n"trace_data": [\n' % calls)
        for i in range(calls):
            e = entry(i, 0 if i else None, 1 if i else 0, "step%d" % (i % 50) if i else "<module>", "demo.py:%d" % (i % 50))
            e["arguments"] = {"text": value}
            f.write(json.dumps(e) + (",\n" if i + 1 < calls else "\n"))
        f.write("]}\n")


@case
def shows_a_trace_larger_than_its_memory_limit(env):
    """The trace file is mapped, not read into the server's memory, and
    indexed without parsing it whole: a server limited to less memory than
    the file's size shows it, whether its bytes are in long arguments or in
    many small calls (the server keeps tens of bytes per call), and saves
    it whole."""
    limit = 96 << 20
    for calls, argument_bytes in ((40000, 4096), (500000, 8)):
        path = os.path.join(env.tmp, "big.json")
        write_big_trace(path, calls, argument_bytes)
        expect(os.path.getsize(path) > 1.5 * limit, "the trace is not larger than the limit")
        group = memory_cgroup(limit)
        try:
            command = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, env.view]
            server = env.serve(trace=path, command=command)
            status, model = server.model()
            expect(status == 200 and model["calls"]["count"] == calls,
                   "the model: %s %s" % (status, model["calls"]["count"]))
            status, last = server.json("GET", "/api/entry/%d" % (calls - 1))
            expect(status == 200 and last["name"] == "step%d" % ((calls - 1) % 50) and
                   len(last["arguments"]["text"]) == argument_bytes, "the last entry: %s" % status)
            # A save of every call is written as it is made, never whole in memory.
            status, answer = server.json("POST", "/api/save", {"filename": "all.json", "ranges": [[0, calls - 1]]})
            expect(status == 200 and answer["calls"] == calls, "saving every call: %s %s" % (status, answer))
            saved = os.path.join(env.tmp, "all.json")
            expect(os.path.getsize(saved) > os.path.getsize(path), "the saved trace is smaller than the original")
            os.unlink(saved)
            rc, _, err = server.stop()
            expect(rc == 0, "the server ended with %d: %s" % (rc, err))
        finally:
            env.close()
            os.rmdir(group)
        os.unlink(path)


@case
def port_in_use(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        expect_one_message(env.run_view(env.trace, str(port)), 1, "127.0.0.1:%d: the port is in use" % port)


@case
def stops_cleanly_on_ctrl_c_and_sigterm(env):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = env.serve()
        expect(server.request("GET", "/")[0] == 200, "not serving")
        rc, _, stderr = server.stop(sig)
        expect(rc == 0 and "stopped" in stderr, "%s: exit %d, stderr %s" % (signal.Signals(sig).name, rc, stderr))


@case
def script_takes_flags_in_any_order(env):
    if not env.script:
        raise Skip("no --script given")
    port = free_port()
    # The flag in the port's place is still a flag (the original script took it as the port).
    os.environ["PYTRACE_VIEW"] = env.view  # the build's, not an installed one
    server = Server([env.script, env.trace, "--no-patterns", str(port), "--hide-imports"], port)
    env.servers.append(server)
    status, model = server.model()
    expect(model["options"] == {"patterns": False, "hide_imports": True}, "options: %s" % model["options"])
    server.stop()
    result = subprocess.run([env.script], capture_output=True, text=True, timeout=30)
    expect(result.returncode == 2 and "usage: serve_visualization.sh" in result.stderr,
           "no arguments: exit %d, %s" % (result.returncode, result.stderr))


@case
def host_names_are_checked_however_it_listens(env):
    """DNS rebinding: a page's own name pointed at this machine. Loopback in
    any spelling, and every interface, answer only for the names they may be
    reached by."""
    def status_for(server, host, method="GET", path="/api/model", body=None, headers=None):
        all_headers = {"Host": host}
        all_headers.update(headers or {})
        return server.request(method, path, body, all_headers)[0]

    for listen in ("::ffff:127.0.0.1", "127.0.0.2", "0.0.0.0"):
        server = env.serve("--host", listen, "--allow-host", "devbox.example")
        server.address = "127.0.0.1" if listen == "0.0.0.0" else listen
        port = server.port
        expect(status_for(server, "evil.example:%d" % port) == 403, "--host %s served evil.example" % listen)
        expect(status_for(server, "localhost.evil.example:%d" % port) == 403, "--host %s served a lookalike" % listen)
        for good in ("localhost:%d" % port, "LOCALHOST.:%d" % port, "127.0.0.1:%d" % port,
                     "devbox.example:%d" % port):
            expect(status_for(server, good) == 200, "--host %s refused Host %s" % (listen, good))
        status = status_for(server, "localhost:%d" % port, "POST", "/api/save",
                            {"filename": "rebound", "ranges": [[0, 0]]}, {"Origin": "http://evil.example:%d" % port})
        expect(status == 403, "--host %s saved for another origin: %d" % (listen, status))
        server.stop()
    expect(not os.path.exists(os.path.join(os.path.dirname(env.trace), "rebound.json")), "a refused save wrote")


@case
def bad_save_requests_are_refused_with_a_message(env):
    server = env.serve()
    for body, phrase in [
        ({"filename": "x", "ranges": [[0, 0]], "overwrite": "yes"}, "overwrite"),
        ({"filename": "x", "ranges": [[4294967296, 4294967296]]}, "not calls of this trace"),
        ({"filename": "x", "ranges": [[5, 2]]}, "not in order"),
        ({"filename": "x", "ranges": [[0]]}, "[first id, last id]"),
        ({"filename": "x", "ranges": [[-1, 0]]}, "[first id, last id]"),
        ({"filename": "x", "ids": [0]}, "no \"ranges\""),
        ({"filename": "x", "ranges": [[0, 0]], "filters": []}, "filters"),
        ({"filename": 7, "ranges": [[0, 0]]}, "filename"),
        ([1, 2], "not a JSON object"),
    ]:
        status, answer = server.json("POST", "/api/save", body)
        expect(status == 400 and phrase in answer.get("error", ""), "%s answered %d %s" % (body, status, answer))
    deep = '{"filename": "x", "ranges": [[0, 0]], "filters": ' + "[" * 100000 + "]" * 100000 + "}"
    status, answer = server.json("POST", "/api/save", deep)
    expect(status == 400 and "nested" in answer["error"], "a deeply nested request answered %d" % status)
    status, _, _ = server.request("POST", "/api/save", "x" * (100 << 20))
    expect(status == 413, "a 100 MB request answered %d" % status)
    expect(server.request("GET", "/api/entry/1")[0] == 200, "the server stopped answering")
    with open("/proc/%d/status" % server.process.pid) as f:
        peak_kb = int(next(line for line in f if line.startswith("VmHWM")).split()[1])
    expect(peak_kb < 256 * 1024, "the server grew to %d MB" % (peak_kb // 1024))
    expect(not [n for n in os.listdir(os.path.dirname(env.trace)) if n.startswith("x")], "a refused save wrote")


@case
def deeply_nested_trace_is_refused(env):
    path = os.path.join(env.tmp, "deep.json")
    with open(path, "w") as f:
        f.write('{"metadata": {"deep": ' + "[" * 100000 + "]" * 100000 + '}, "trace_data": []}')
    expect_one_message(env.run_view(path, str(free_port())), 1, "nested more than 64 levels deep")


@case
def save_never_replaces_the_shown_trace(env):
    directory = os.path.dirname(env.trace)
    os.symlink("demo.json", os.path.join(directory, "link.json"))
    os.link(env.trace, os.path.join(directory, "hard.json"))
    with open(os.path.join(env.tmp, "elsewhere.json"), "w") as f:
        f.write("{}")
    os.symlink(os.path.join(env.tmp, "elsewhere.json"), os.path.join(directory, "other.json"))
    original = open(env.trace).read()
    # Shown through a link: the real name is the shown trace too.
    server = env.serve(trace=os.path.join(directory, "link.json"))
    for name, phrase in [("demo.json", "the trace being shown"), ("hard.json", "the trace being shown"),
                         ("link.json", "the trace being shown"), ("other.json", "not a regular file")]:
        status, answer = server.json("POST", "/api/save", {"filename": name, "ranges": [[0, 0]], "overwrite": True})
        expect(status == 409 and phrase in answer["error"], "saving as %s answered %d %s" % (name, status, answer))
    expect(open(env.trace).read() == original and os.path.islink(os.path.join(directory, "other.json"))
           and open(os.path.join(env.tmp, "elsewhere.json")).read() == "{}", "a save replaced what it must not")


@case
def idle_and_slow_clients_do_not_stall_others(env):
    server = env.serve()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
    slow = []
    for _ in range(16):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"GET /api/model HTTP/1.1\r\nHost: localhost\r\n")  # and never the rest
        slow.append(s)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/entry/3")
        response = connection.getresponse()
        expect(response.status == 200 and json.loads(response.read())["id"] == 3,
               "a request behind idle and slow clients answered %d" % response.status)
    except OSError as error:
        raise Failure("a request behind 40 idle and 16 slow clients got no answer: %s" % error)
    finally:
        for s in idle + slow:
            s.close()


@contextlib.contextmanager
def environment(args):
    tmp = tempfile.mkdtemp(prefix="pytrace-view-")
    os.chmod(tmp, 0o755)
    env = Env(os.path.abspath(args.view), args.script and os.path.abspath(args.script), tmp)
    try:
        yield env
    finally:
        env.close()
        remove_tree(tmp)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--view")
    parser.add_argument("--script")
    return run(CASES, parser, environment)


if __name__ == "__main__":
    sys.exit(main())
