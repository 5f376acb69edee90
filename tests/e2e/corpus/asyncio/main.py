"""asyncio: tasks, gather, sleeps, async generators and context managers,
exceptions crossing awaits, and a thread pool running blocking calls."""
import asyncio
import threading

# Set by the event loop once main() awaits the executor's future: without it,
# a slow machine can finish blocking() before main() awaits, and main() then
# does not suspend there, so the run would not be the same every time.
awaiting = threading.Event()


def blocking(n):
    awaiting.wait()
    return sum(square(i) for i in range(n))


def square(x):
    return x * x


async def fetch(name, delay):
    await asyncio.sleep(delay)
    return name.upper()


async def numbers(limit):
    for i in range(limit):
        await asyncio.sleep(0)
        yield i


class Session:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    async def get(self, name):
        return await fetch(name, 0)


async def failing():
    await asyncio.sleep(0)
    raise ValueError("bad")


async def main():
    results = await asyncio.gather(fetch("a", 0.01), fetch("b", 0))
    print(results)
    print([n async for n in numbers(3)])
    async with Session() as session:
        print(await session.get("c"))
    try:
        await failing()
    except ValueError as e:
        print("caught", e)
    task = asyncio.create_task(fetch("d", 0))
    print(await task)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, blocking, 3)
    loop.call_soon(awaiting.set)  # runs once this step has suspended at the await
    print(await future)


asyncio.run(main())
