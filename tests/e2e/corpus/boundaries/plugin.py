"""A module of the scope that out-of-scope code imports."""


def loaded():
    return "plugin"


VALUE = loaded()
