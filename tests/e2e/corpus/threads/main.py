"""Threads running in-scope code: one call tree per thread."""
import threading


def work(n):
    return sum(square(i) for i in range(n))


def square(x):
    return x * x


def worker(n, results, index):
    results[index] = work(n)


def main():
    results = [0, 0, 0]
    threads = [threading.Thread(target=worker, args=(3 + i, results, i)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(results, work(2))


main()
