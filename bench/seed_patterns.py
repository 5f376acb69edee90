# SPDX-License-Identifier: MIT
"""The seed viewer's pattern grouping, in Python as the seed ran it (seed
spec section 4.1): greedy over the flat list of keys, windows min(20, n/2)
down to 2, a set of claimed start indices, each entry looking through all
found patterns when they are applied, and the first repetition of every
group of 4 or more calls regrouped. For comparison with the core's grouper.

usage: python3 seed_patterns.py KEYS_FILE
"""
import sys
import time


def find_patterns(keys, max_window=20):
    n = len(keys)
    found, claimed = [], set()
    for window in range(min(max_window, n // 2), 1, -1):
        i = 0
        while i <= n - 2 * window:
            if i in claimed:
                i += 1
                continue
            reps = 1
            block = keys[i:i + window]
            while i + (reps + 1) * window <= n and keys[i + reps * window:i + (reps + 1) * window] == block:
                reps += 1
            if reps >= 2:
                found.append((i, window, reps))
                claimed.update(range(i, i + window * reps))
                i += window * reps
            else:
                i += 1
    found.sort()
    return found


def apply_patterns(keys):
    patterns = find_patterns(keys)
    items, groups, i = [], 0, 0
    while i < len(keys):
        at = None
        for pattern in patterns:  # the seed's linear scan per entry
            if pattern[0] == i:
                at = pattern
                break
        if at:
            start, window, reps = at
            groups += 1
            if window >= 4:
                groups += apply_patterns(keys[start:start + window])[1]
            items.append(at)
            i += window * reps
        else:
            items.append(keys[i])
            i += 1
    return items, groups


def main():
    keys = [int(line) for line in open(sys.argv[1])]
    start = time.perf_counter()
    _, groups = apply_patterns(keys)
    print("algorithm=seed-python calls=%d seconds=%.3f groups=%d" % (len(keys), time.perf_counter() - start, groups))


main()
