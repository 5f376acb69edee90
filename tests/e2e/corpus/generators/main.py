"""Generators, yield from, send/throw/close, async coroutines."""
import asyncio


def numbers(limit):
    for i in range(limit):
        yield i


def delegating():
    yield from numbers(2)
    yield 99


def accumulator():
    total = 0
    while True:
        value = yield total
        if value is None:
            return total
        total += value


def guarded():
    try:
        yield 1
        yield 2
    except KeyError:
        yield "handled"
    finally:
        tidy()


def tidy():
    return None


def closure_gen(base):
    def inner():
        yield base
    return inner()


async def fetch(x):
    await asyncio.sleep(0)
    return x * 2


async def gather():
    a = await fetch(1)
    b = await fetch(2)
    return a + b


def main():
    print(list(numbers(3)), list(delegating()))
    acc = accumulator()
    next(acc)
    acc.send(5)
    print(acc.send(6))
    g = guarded()
    print(next(g), g.throw(KeyError()))
    g.close()
    print(next(closure_gen(4)))
    unused = numbers(5)
    print(asyncio.run(gather()), unused is not None)


main()
