# SPDX-License-Identifier: MIT
"""Pattern grouping at scale: the core's grouper on synthetic traces of 10^5,
10^6 and 10^7 calls (time, peak memory), and the seed's algorithm (in
Python, as the seed ran it, and reimplemented in C++) at the sizes it can
finish, with the ratios at 10^5 calls.

usage: python3 bench/run_patterns_bench.py [--build DIR]
(build first: cmake --build build --target patterns_bench)
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def figures(line):
    return dict(field.split("=", 1) for field in line.split())


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), result.stderr))
    return figures(result.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    binary = os.path.join(args.build, "bench", "patterns_bench")
    if not os.access(binary, os.X_OK):
        sys.exit("no %s: build it first (cmake --build build --target patterns_bench)" % binary)

    print("%-12s %10s %10s %10s %14s" % ("algorithm", "calls", "seconds", "peak MB", "calls grouped"))
    rows = {}
    for calls in (10**5, 10**6, 10**7):
        row = run([binary, str(calls)])
        rows[("pytrace", calls)] = row
        print("%-12s %10s %10s %10s %14s" % ("pytrace", row["calls"], row["seconds"], row["peak_rss_mb"],
                                              row["calls_in_groups"]))
    for calls in (10**5, 10**6):
        row = run([binary, str(calls), "--seed-algorithm"])
        rows[("seed-c++", calls)] = row
        print("%-12s %10s %10s %10s %14s" % ("seed (C++)", row["calls"], row["seconds"], row["peak_rss_mb"], "-"))
    with tempfile.TemporaryDirectory() as tmp:
        for calls in (10**4, 10**5):
            keys = os.path.join(tmp, "keys.txt")
            subprocess.run([binary, str(calls), "--dump-keys", keys], check=True)
            row = run([sys.executable, os.path.join(HERE, "seed_patterns.py"), keys])
            rows[("seed-python", calls)] = row
            print("%-12s %10s %10s %10s %14s" % ("seed (Python)", row["calls"], row["seconds"], "-", "-"))

    ours = float(rows[("pytrace", 10**5)]["seconds"])
    print("\nat 10^5 calls: %.0fx faster than the seed's algorithm in Python, %.1fx than it in C++" % (
        float(rows[("seed-python", 10**5)]["seconds"]) / ours, float(rows[("seed-c++", 10**5)]["seconds"]) / ours))
    print("10^7 calls: %s s, peak %s MB" % (rows[("pytrace", 10**7)]["seconds"], rows[("pytrace", 10**7)]["peak_rss_mb"]))


if __name__ == "__main__":
    main()
