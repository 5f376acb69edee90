"""A dependency, installed into the project's virtualenv with pip."""


def shout(text):
    return _upper(text) + "!"


def _upper(text):
    return text.upper()


def join_with(render, things):
    return ", ".join(_each(render, things))


def _each(render, things):
    return [render(thing) for thing in things]
