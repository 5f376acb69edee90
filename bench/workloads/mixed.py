"""Methods, generators, closures and standard-library calls in a loop."""
import json
import sys


class Account:
    def __init__(self, owner):
        self.owner = owner
        self.entries = []

    def deposit(self, amount):
        self.entries.append(amount)
        return self.balance()

    def balance(self):
        return sum(self.entries)


def amounts(n):
    for i in range(n):
        yield i % 7


def main(rounds):
    total = 0
    for r in range(rounds):
        account = Account("r%d" % r)
        for amount in amounts(20):
            total += account.deposit(amount)
        total += len(json.dumps({"owner": account.owner, "n": len(account.entries)}))
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
