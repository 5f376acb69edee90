def value():
    return 7


class Loaded:
    pass
