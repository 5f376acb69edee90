"""Argument values of every kind the tracer reads, and call sites spread
over several lines."""
import collections
import sys


class Point:
    def __init__(self, x, y=2.5):
        self.x = x
        self.y = y

    def moved(self, dx, dy=0):
        return Point(self.x + dx, self.y + dy)

    @classmethod
    def origin(cls):
        return cls(0, 0)

    @staticmethod
    def distance(a, b):
        return abs(a.x - b.x) + abs(a.y - b.y)


class Tags(list):
    pass


def positional(a, b, /, c, *, d, e=5):
    return a


def variadic(first, *rest, flag=False, **options):
    return first


def integers(small, negative, zero, big, huge, yes, no):
    return small


def floats(pi, whole, tiny, large, nan, inf, negative_zero):
    return pi


def strings(empty, short, long, latin, wide, astral, quoted):
    return short


def raw(short, quoted, long):
    return short


def containers(items, pair, mapping, unique, empty_tuple, empty_list, empty_dict, empty_set):
    return items


def subclasses(tags, counter, frozen, ordered):
    return tags


def objects(point, function, module, kind, nothing):
    return point


def many(a, b, c, d, e, f, g, h, i, j):
    return a


def closure(value, unused=None):
    def inner():
        return value
    return inner()


def countdown(n, step=1):
    while n > 0:
        yield n
        n -= step


def main():
    p = Point(1)
    q = p.moved(
        2,
        dy=3,
    )
    Point.distance(p, q)
    Point.origin()
    positional(1, "b", 3, d=[4])
    variadic(1, 2, 3, flag=True, colour="red", size=2)
    variadic("only")
    integers(42, -7, 0, 2 ** 100, 10 ** 300, True, False)
    floats(3.14159, 100.0, 1e-7, 1.5e300, float("nan"), float("-inf"), -0.0)
    strings("", "hello", "x" * 150, "héllo wörld", "π ≈ " + "3.14159" * 10, "emoji 🐍 " * 5,
            "it's")
    raw(b"by\x00tes'\n", b'say "hi"', b"z" * 200)
    containers([1, 2, 3], (1, "a"), {"a": 1}, {1, 2, 3}, (), [], {}, set())
    subclasses(Tags([1]), collections.Counter("abc"), frozenset([1]), collections.OrderedDict(a=1))
    objects(p, main, sys, Point, None)
    many(*range(10))
    closure(5)
    total = sum(countdown(
        3,
    ))
    print(q.x, q.y, total)


main()
