import greetlib


class Item:
    def __init__(self, name, count):
        self.name = name
        self.count = count

    def label(self):
        return greetlib.shout(self.name) + " x" + str(self.count)


def parse(line):
    name, count = line.split("=")
    return Item(name.strip(), int(count))


def report(lines):
    items = [parse(line) for line in lines]
    # A callback through the library: greetlib calls label() back.
    return greetlib.join_with(Item.label, items)
