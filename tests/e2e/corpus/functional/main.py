"""Lambdas, decorators, closures, callbacks from C, comprehensions."""
import functools


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def counter():
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count

    return bump


@timed
def total(values):
    return sum(v * v for v in values)


@timed
@timed
def twice(x):
    return x * 2


def key_of(item):
    return -item


def main():
    double = lambda x: x * 2  # noqa: E731
    print(list(map(double, [1, 2])))
    print(sorted([3, 1, 2], key=key_of))
    print(sorted([3, 1, 2], key=lambda v: v % 3))
    bump = counter()
    bump()
    print(bump())
    print(total([1, 2, 3]), twice(4))
    squares = [double(i) for i in range(3)]
    table = {i: double(i) for i in range(2)}
    print(squares, table, functools.reduce(lambda a, b: a + b, [1, 2, 3]))


main()
