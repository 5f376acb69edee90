import pytest

from calc import Account


@pytest.fixture
def account():
    acc = Account("ada")
    acc.deposit(10)
    return acc
