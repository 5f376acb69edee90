"""Shapes for the demo: a small class hierarchy in its own module."""
import math


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        raise NotImplementedError

    @classmethod
    def parse(cls, text):
        kind, _, size = text.partition(":")
        return SHAPES[kind](float(size))


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return self.side * self.side


class Circle(Shape):
    def __init__(self, radius):
        super().__init__("circle")
        self.radius = radius

    def area(self):
        return math.pi * self.radius ** 2


SHAPES = {"square": Square, "circle": Circle}
