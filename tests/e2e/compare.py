# SPDX-License-Identifier: MIT
"""Normalised call trees, from a trace_program JSON file or an oracle file,
and their comparison.

A normalised tree node is
  {"name", "file", "line", "external", "call_type", "parent_location",
   "arguments", "caller", "children"}
where "caller" is the name of the call's caller (caller_id), None for none.
and a trace is a list of threads, each a list of top-level nodes.

Objects in `arguments` are "<TypeName object at 0xADDRESS>" in a trace;
the oracle runs the program again, so addresses differ, and a C type's
name may carry its module: both are compared as "<TypeName object>" (and
classes as "<class 'Name'>"), and
addresses inside strings (a repr the program made) as 0x?.
"""

import difflib
import json
import re

KEYS = ("name", "file", "line", "external", "call_type", "parent_location", "parent_call", "arguments", "caller")
OBJECT = re.compile(r"^<(?:[^<>]*\.)?([^.<>]+) object(?: at 0x[0-9a-f]+)?>$")
CLASS = re.compile(r"^<class '(?:[^']*\.)?([^.']+)'>$")
ADDRESS = re.compile(r"0x[0-9a-f]{6,}|0x[0-9a-f]*(?=\.\.\.$)")  # whole, or cut off by "..."


def normal_arguments(arguments):
    """Arguments with objects named by type only and no addresses."""
    def normal(value):
        if not isinstance(value, str):
            return value
        value = CLASS.sub(r"<class '\1'>", OBJECT.sub(r"<\1 object>", value))
        return ADDRESS.sub("0x?", value)
    return {key: normal(value) for key, value in arguments.items()}


def trees_from_trace(document):
    """The trees of a trace_program JSON document, rebuilt from parent_id."""
    return [tree for _, tree in trees_from_trace_by_pid(document)]


def trees_from_trace_by_pid(document):
    """(pid, tree) for each thread of the document."""
    threads = {}
    nodes = {}
    names = {}
    for entry in document["trace_data"]:
        if entry["event"] == "executed_line":
            continue
        names[entry["id"]] = entry["name"]
        node = {
            "name": entry["name"],
            "file": entry["file"],
            "line": entry["line"],
            "external": entry["is_external"],
            "call_type": entry["call_type"],
            "parent_location": entry["parent_location"],
            "parent_call": entry["parent_call"],
            "arguments": normal_arguments(entry["arguments"]),
            "caller": None if entry["caller_id"] is None else names[entry["caller_id"]],
            "children": [],
        }
        nodes[entry["id"]] = node
        parent = entry["parent_id"]
        if parent is None:
            threads.setdefault((entry["pid"], entry["thread_id"]), []).append(node)
        else:
            nodes[parent]["children"].append(node)
    return [(pid, tree) for (pid, _), tree in threads.items()]


def trees_from_oracle(reference):
    """The oracle's call trees (no executed lines), with its arguments
    normalised as a trace's are."""
    def calls(nodes):
        return [dict(node, children=calls(node["children"])) for node in nodes if "executed_line" not in node]
    threads = [calls(thread) for thread in reference["threads"]]
    for node in walk([node for thread in threads for node in thread]):
        node["arguments"] = normal_arguments(node["arguments"])
    return threads


# --track-executed-lines: per thread, the calls and the lines in the order
# they ran, one line of text each.
def line_text(file, function, line, context):
    return "  line %s %s:%d [%s]" % (function, file, line, context)


def runs_from_trace(document):
    threads = {}
    for entry in document["trace_data"]:
        run = threads.setdefault((entry["pid"], entry["thread_id"]), [])
        if entry["event"] == "executed_line":
            run += [line_text(entry["file"], entry["function"], n, entry["context"]) for n in entry["lines"]]
        else:
            run.append("call " + entry["name"])
    return sorted(threads.values())


def runs_from_oracle(reference):
    def walk_run(nodes, run):
        for node in nodes:
            if "executed_line" in node:
                run.append(line_text(node["file"], node["function"], node["executed_line"], node["context"]))
            else:
                run.append("call " + node["name"])
                walk_run(node["children"], run)
        return run
    return sorted(walk_run(thread, []) for thread in reference["threads"])


def runs_diff(expected, actual):
    """A unified diff of the runs of calls and lines; empty when equal."""
    def text(runs):
        return [line for index, run in enumerate(runs) for line in ["== thread %d ==" % index] + run]
    return list(difflib.unified_diff(text(expected), text(actual), "oracle", "trace", lineterm="", n=3))


def walk(nodes):
    """Every node of the trees, parents before children."""
    for node in nodes:
        yield node
        yield from walk(node["children"])


def render(threads):
    """One line per call, indented by depth; threads in a stable order."""
    lines = []
    for index, thread in enumerate(sorted(threads, key=lambda t: json.dumps(t, sort_keys=True))):
        lines.append("== thread %d ==" % index)

        def walk(nodes, depth):
            for node in nodes:
                lines.append("%s%s  %s:%s  %s%s  <- %s %s  %s  caller %s" % (
                    "    " * depth, node["name"], node["file"], node["line"],
                    node["call_type"], " [external]" if node["external"] else "",
                    node["parent_location"], json.dumps(node.get("parent_call")),
                    json.dumps(node.get("arguments", {})), node["caller"]))
                walk(node["children"], depth + 1)
        walk(thread, 0)
    return lines


def diff(expected, actual, expected_name="oracle", actual_name="trace"):
    """A unified diff of the rendered trees; empty when they are equal."""
    return list(difflib.unified_diff(render(expected), render(actual),
                                     expected_name, actual_name, lineterm="", n=3))


def losses(document):
    """A trace's loss counters that are not zero, calls left open aside (a
    program may end inside calls)."""
    return {k: v for k, v in document["metadata"]["loss"].items() if v and k != "open_at_end"}


def load(path):
    with open(path) as f:
        return json.load(f)
