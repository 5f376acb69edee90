import sys

from inventory import core


def main(argv):
    print(core.report(argv or ["apple=3", "pear=1"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
