"""A synthetic test suite as large as CPython's test_statistics was when it
was first traced (about 2 * 10^7 calls), every call in the scope and with
distinct argument values: the target of `bench/run.sh --big`.
PYTRACE_BENCH_CALLS sets the number of calls (default 2 * 10^7)."""
import os

import pytest

CALLS = int(os.environ.get("PYTRACE_BENCH_CALLS", "20000000"))
TESTS = 200
ROUNDS = max(1, CALLS // TESTS // 3)  # each round makes 3 calls


class Account:
    def __init__(self, owner):
        self.owner = owner
        self.balance = 0.0

    def deposit(self, amount):
        self.balance += amount
        return self.balance


def fee(amount, label):
    return amount * 0.01 if label else 0.0


def settle(account, amount, label):
    return account.deposit(amount - fee(amount, label))


@pytest.mark.parametrize("block", range(TESTS))
def test_block(block):
    account = Account("owner-%d" % block)
    for i in range(ROUNDS):
        settle(account, i + block / 7, "item-%d" % (i % 97))
    assert account.balance > 0 or ROUNDS == 0
