"""Calls into the standard library (external), and callbacks from it."""
import collections
import json
import os.path
import re


class Point:
    def __init__(self, x):
        self.x = x


def encode(obj):
    return {"x": obj.x}


def shout(match):
    return match.group(0).upper()


def main():
    print(json.dumps({"p": Point(1)}, default=encode, sort_keys=True))
    print(os.path.join("a", "b"), os.path.basename("/x/y.txt"))
    print(collections.Counter("abca").most_common(1))
    print(re.sub(r"b+", shout, "abbc"))
    print(json.loads('{"a": [1, 2]}'))


main()
