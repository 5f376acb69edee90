import pytest


class TestAccount:
    def test_deposit(self, account):
        assert account.deposit(5) == 15

    def test_negative(self, account):
        with pytest.raises(ValueError):
            account.deposit(-1)

    def test_balance_fails(self, account):
        assert account.balance() == 0
