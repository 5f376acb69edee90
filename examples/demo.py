"""A small program to trace: `sudo trace_program examples/demo.py [N]`.

It parses a few shapes, sums their areas, walks a recursive function, reads
a generator, uses the standard library, handles an error raised three
calls down and does some work in a thread.
"""
import json
import sys
import threading

from shapes import Shape


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def total_area(specs):
    return sum(Shape.parse(spec).area() for spec in specs)


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def load(text):
    return validate(json.loads(text))


def validate(record):
    if "size" not in record:
        raise ValueError("record without a size")
    return record


def worker(results):
    results.append(fib(6))


def main(argv):
    n = int(argv[0]) if argv else 5
    print("fib(%d) =" % n, fib(n))
    print("area: %.2f" % total_area(["square:2", "circle:1"]))
    print("countdown:", list(countdown(3)))
    print("sorted:", sorted(["bb", "a", "ccc"], key=lambda s: len(s)))
    try:
        load('{"name": "x"}')
    except ValueError as error:
        print("rejected:", error)
    results = []
    thread = threading.Thread(target=worker, args=(results,))
    thread.start()
    thread.join()
    print("thread:", results)


if __name__ == "__main__":
    main(sys.argv[1:])
