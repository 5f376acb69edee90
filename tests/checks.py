# SPDX-License-Identifier: MIT
"""The harness of the checks scripts (e2e/cli_checks.py, viewer/server_checks.py):
one case per run, named on the command line, so that ctest lists each.

Exit codes: 0 pass, 1 fail, 77 skipped (the case says why), 2 unknown case.
"""

import os
import shutil
import stat


class Failure(Exception):
    pass


class Skip(Exception):
    pass


class Cases(dict):
    def case(self, function):
        """Decorator: registers a check under its function's name."""
        self[function.__name__] = function
        return function


def remove_tree(path):
    """Removes a scratch directory, including what checks made unreadable."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)


def run(cases, parser, make_env):
    """Lists the cases or runs the one named. `make_env(args)` gives the
    case's environment as a context manager that cleans up after it."""
    parser.add_argument("--list", action="store_true", help="print the cases' names")
    parser.add_argument("case", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join(cases))
        return 0
    if args.case not in cases:
        print("unknown case %r; --list names them" % args.case)
        return 2
    with make_env(args) as env:
        try:
            cases[args.case](env)
        except Skip as skip:
            print("SKIP: %s: %s" % (args.case, skip))
            return 77
        except Failure as failure:
            print("FAIL: %s: %s" % (args.case, failure))
            return 1
    print("OK: " + args.case)
    return 0
