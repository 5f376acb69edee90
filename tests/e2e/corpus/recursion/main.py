"""Recursion: plain, mutual and deep."""
import sys


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)


def main(argv):
    print("fib", fib(int(argv[0]) if argv else 6))
    print("even", is_even(7))
    print("depth", depth(150))


main(sys.argv[1:])
