class Layer:
    def __init__(self, index):
        self.index = index

    def apply(self, x):
        return self.scale(x) + 1

    def scale(self, x):
        return x * (self.index + 1)
