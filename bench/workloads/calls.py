"""Pure Python calls: recursion. fib(N) makes about 1.6 * 1.618**N calls."""
import timed  # noqa: F401 (reports the run time)
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(int(sys.argv[1]) if len(sys.argv) > 1 else 23))
