# SPDX-License-Identifier: MIT
"""What each key of a trace's entries costs, in bytes per call.

usage: python3 bench/key_costs.py TRACE.json[.gz|.zst] [...]

Reads trace_data an entry (one line) at a time and adds up, per key, the
bytes of `"key":value,` as written; then the file's bytes per call, and
with a compressed copy, the compressed size per call.
"""

import gzip
import json
import os
import subprocess
import sys
from collections import Counter


def lines(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            yield from f
    elif path.endswith(".zst"):
        process = subprocess.Popen(["zstd", "-q", "-d", "-c", path], stdout=subprocess.PIPE, text=True)
        yield from process.stdout
        process.wait()
    else:
        with open(path) as f:
            yield from f


def costs(path):
    per_key, entries, entry_bytes = Counter(), 0, 0
    for line in lines(path):
        text = line.strip().rstrip(",")
        if not text.startswith('{"event"'):
            continue
        entry = json.loads(text)
        entries += 1
        entry_bytes += len(line)
        for key, value in entry.items():
            per_key[key] += len(json.dumps({key: value}, separators=(",", ":"), ensure_ascii=False)) - 1
    return per_key, entries, entry_bytes


def main():
    for path in sys.argv[1:]:
        per_key, entries, entry_bytes = costs(path)
        size = os.path.getsize(path)
        print("%s: %d entries, %.0f bytes per entry in the file (%.0f in the entries' lines)" % (
            path, entries, size / max(1, entries), entry_bytes / max(1, entries)))
        for key, total in per_key.most_common():
            print("  %-18s %7.1f B  %5.1f%%" % (key, total / entries, 100 * total / max(1, entry_bytes)))


if __name__ == "__main__":
    main()
