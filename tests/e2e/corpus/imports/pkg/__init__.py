from .greeting import greet

__all__ = ["greet"]
