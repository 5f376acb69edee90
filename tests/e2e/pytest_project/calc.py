"""A small library for the trace_pytest end-to-end test."""


def add(a, b):
    return a + b


def mean(values):
    if not values:
        raise ValueError("no values")
    return add_all(values) / len(values)


def add_all(values):
    total = 0
    for v in values:
        total = add(total, v)
    return total


class Account:
    def __init__(self, owner):
        self.owner = owner
        self.entries = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.entries.append(amount)
        return self.balance()

    def balance(self):
        return add_all(self.entries)
