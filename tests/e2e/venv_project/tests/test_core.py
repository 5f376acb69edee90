from inventory import core


def test_parse():
    item = core.parse("fig = 2")
    assert (item.name, item.count) == ("fig", 2)


def test_report():
    assert core.report(["kiwi=1"]) == "KIWI! x1"


def test_fails():
    assert core.parse("plum=4").count == 5
