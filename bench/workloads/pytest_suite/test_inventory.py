import pytest

from inventory import Inventory, restock


@pytest.fixture
def stocked():
    inventory = Inventory()
    restock(inventory, [("apple", 3), ("pear", 2)])
    return inventory


@pytest.mark.parametrize("n", range(20))
def test_add_many(n):
    inventory = Inventory()
    for i in range(n):
        inventory.add("item%d" % (i % 5))
    assert inventory.total() == n


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_remove(stocked, count):
    stocked.add("plum", count)
    stocked.remove("plum", count)
    assert "plum" not in stocked.items


@pytest.mark.parametrize("bad", [0, -1, -5])
def test_add_rejects(bad):
    with pytest.raises(ValueError):
        Inventory().add("x", bad)


@pytest.mark.parametrize("orders", [[("a", i)] * i for i in range(1, 12)])
def test_restock(orders):
    assert restock(Inventory(), orders) == sum(count for _, count in orders)


@pytest.mark.parametrize("name", ["apple", "pear", "kiwi", "fig", "lime", "date", "yuzu", "sloe", "nut", "bean", "pea"])
def test_remove_missing(stocked, name):
    if name in stocked.items:
        stocked.remove(name)
    else:
        with pytest.raises(KeyError):
            stocked.remove(name)
