"""Imports of local modules and packages, at top level and inside calls."""
import importlib

import helpers
from pkg import greet
from pkg.sub import deep


def late():
    import pkg.sub.lazy as lazy
    return lazy.value()


def main():
    print(helpers.double(2))
    print(greet("x"), deep())
    print(late())
    mod = importlib.import_module("pkg.sub.lazy")
    print(mod.value())


main()
