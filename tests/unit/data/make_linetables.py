# SPDX-License-Identifier: MIT
"""Writes linetables.json: real co_linetable bytes from this interpreter
(CPython 3.15) with the lines CPython itself gives each instruction, for
linetable_test.cpp. Run with the provisioned interpreter:

    python3.15 tests/unit/data/make_linetables.py > tests/unit/data/linetables.json
"""
import json
import sys

SOURCE = '''
def simple(a, b):
    return a + b

def multi_line_call(x):
    result = simple(
        x,
        2)
    return result

class Square(
        object):
    def area(self):
        return 1

def far_jumps(n):
    total = 0
''' + "".join("    total += %d\n" % i for i in range(300)) + '''
    if n:
        total = simple(total,
                       n)
    return total

def generator():
    try:
        yield 1
    finally:
        pass
'''


def codes(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield from codes(const)


def main():
    module = compile(SOURCE, "/fixture.py", "exec")
    cases = []
    for code in codes(module):
        positions = [[i, p[0], p[1]] for i, p in enumerate(code.co_positions()) if p[0] is not None]
        cases.append({
            "name": code.co_name,
            "first_lineno": code.co_firstlineno,
            "linetable": code.co_linetable.hex(),
            "instructions": len(code.co_code) // 2,
            "positions": positions,
        })
    json.dump({"python": sys.version.split()[0], "cases": cases}, sys.stdout, separators=(",", ":"))
    print()


main()
