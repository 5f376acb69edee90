"""Calls crossing the scope's boundary both ways: a library out of the scope
(site-packages) calling itself and back into the scope, generators of both
sides driven by the other, dunders and comprehensions called from out of the
scope, imports made from out of it, exceptions raised through it, a thread
started by it. Its calls to itself are left out in the kernel."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import outside  # noqa: E402


def square(value):
    return value * value


def counter():
    total = 0
    try:
        while True:
            received = yield total
            total += received or 1
    except KeyError:
        yield "thrown"
    finally:
        done()


def done():
    return None


class Key:
    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return self.value < other.value

    def __eq__(self, other):
        return self.value == other.value


def bad():
    raise ValueError("bad")


def main():
    print(outside.apply(square, [1, 2, 3]))
    print([square(a) + b for a, b in outside.pairs([1, 2])])
    print(outside.drive(counter()))
    outside.CALLBACKS.append(done)
    guarded = outside.guarded()
    print(next(guarded), guarded.throw(ValueError("in")), guarded.close())
    keys, same = outside.sort_keys([Key(3), Key(1), Key(2)])
    print([k.value for k in keys], same)
    print(outside.load("plugin").VALUE)
    print(outside.fail_through(bad))
    outside.in_thread(square)
    # a generator expression of the scope, run by the library
    print(outside.apply(square, (v + 1 for v in range(2))))


if __name__ == "__main__":
    main()
    # The tracer hands its verdicts to the kernel as it reads the code
    # objects' descriptions (every 50 ms): the second run's calls from the
    # library to itself are left out in the kernel (case.json).
    time.sleep(0.5)
    main()
