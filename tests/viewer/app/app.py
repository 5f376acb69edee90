"""The program the browser tests trace: repeated calls with repeats inside
them, an import of a module in scope, calls into the standard library, a
lambda, classes and a second thread."""
import json
import threading

import layers


class Model:
    def __init__(self, depth):
        self.layers = [layers.Layer(i) for i in range(depth)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.apply(x)
        return x


def attention(x):
    return x * 2


def train(steps):
    model = Model(2)
    total = 0
    for _ in range(steps):
        total += attention(1) + attention(2)
        total += model.forward(1)
    return total


def report(values):
    return json.dumps(sorted(values, key=lambda v: -v))


def worker(out):
    out.append(train(2))


def main():
    out = []
    thread = threading.Thread(target=worker, args=(out,))
    thread.start()
    thread.join()
    out.append(train(4))
    print(report(out))


main()
