"""Exceptions caught several frames up, re-raised, in finally blocks and
context managers."""


class Boom(Exception):
    pass


def level3():
    raise Boom("deep")


def level2():
    return level3()


def level1():
    try:
        level2()
    except Boom:
        return "caught"


def reraise():
    try:
        level2()
    except Boom:
        raise ValueError("again")


def cleanup():
    try:
        return level2()
    finally:
        note("finally ran")


def note(text):
    print(text)


class Managed:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        note("exit")
        return True


def main():
    print(level1())
    try:
        reraise()
    except ValueError as e:
        print("outer", e)
    try:
        cleanup()
    except Boom:
        pass
    with Managed():
        level3()
    print("done")


main()
