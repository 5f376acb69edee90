def double(x):
    return x * 2


CONSTANT = double(21)
