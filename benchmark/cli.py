"""Shared command-line plumbing: user errors end in one line and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["UserError", "main_guard", "parse_overrides"]


class UserError(ValueError):
    """Bad input from the user: reported as one line, exit code 2, no traceback."""


#: Exceptions that mean bad input rather than a bug: the registry, specs, datasets and
#: weight loading raise ValueError (and subclasses) with messages that say how to fix it.
_USER_ERRORS = (ValueError, FileNotFoundError)


def main_guard(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Wrap a CLI ``main``: user errors print ``error: ...`` to stderr and return 2."""

    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except _USER_ERRORS as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted; completed records are kept, re-run the same command to finish", file=sys.stderr)
            return 130

    return wrapped


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "none":
        return None
    if "," in text:
        return tuple(_value(t) for t in text.split(",") if t)
    return text


def parse_overrides(items: list[str] | None) -> dict:
    """``["steps=200", "crop=64,64"]`` -> ``{"steps": 200, "crop": (64, 64)}``."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set takes KEY=VALUE (e.g. --set steps=200), got {item!r}")
        out[key.strip()] = _value(value.strip())
    return out
