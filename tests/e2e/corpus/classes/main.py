"""Classes: methods, classmethods, staticmethods, properties, dunders,
__call__, inheritance with super(), class bodies, nested classes."""


class Shape:
    count = 0

    def __init__(self, name):
        self.name = name
        Shape.count += 1

    def area(self):
        return 0

    def describe(self):
        return "%s with area %s" % (self.name, self.area())

    @classmethod
    def make(cls, *args):
        return cls(*args)

    @staticmethod
    def unit():
        return 1

    @property
    def label(self):
        return self.name.upper()

    def __repr__(self):
        return "Shape(%r)" % self.name

    def __eq__(self, other):
        return isinstance(other, Shape) and self.area() == other.area()

    __hash__ = None


class Square(
        Shape):
    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return self.side * self.side


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, value):
        self.calls += 1
        return value * 2

    def __len__(self):
        return self.calls


def make_class(base):
    class Local(base):
        def area(self):
            return 42

    return Local


class Outer:
    class Inner:
        def ping(self):
            return "pong"


def main():
    s = Square.make(3)
    print(s.describe())
    print(Shape.unit(), s.label, repr(s), s == Square(3))
    counter = Counter()
    print(counter(5), counter(6), len(counter))
    local = make_class(Shape)("local")
    print(local.describe())
    print(Outer.Inner().ping())


main()
