import sys

from inventory import core

print(core.report(sys.argv[1:]))
