"""Shared command-line plumbing: user errors end in one line and exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["ArgumentParser", "Interrupted", "UserError", "add_import_option", "import_from_argv", "import_plugins", "main_guard",
           "parse_assignments", "parse_overrides", "parse_value", "writable_file", "writable_folder"]  # fmt: skip


class UserError(ValueError):
    """Bad input from the user: reported as one line, exit code 2, no traceback."""


class Interrupted(KeyboardInterrupt):
    """An interruption (Ctrl-C) of work that can say what it left, e.g. ``interrupted: 1 of
    2 runs recorded ...``: reported as that one line, exit code 130."""


#: What an interruption says when nothing more precise is known.
INTERRUPTED = "interrupted; completed records are kept, re-run the same command to finish"


#: Exceptions that mean bad input rather than a bug: the registry, specs, datasets and
#: weight loading raise ValueError (and subclasses) with messages that say how to fix it.
_USER_ERRORS = (ValueError, FileNotFoundError)


def main_guard(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Wrap a CLI ``main``: user errors print ``error: ...`` to stderr and return 2; an
    interruption prints what it left (``Interrupted``) and returns 130."""

    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except _USER_ERRORS as err:
            print(f"error: {one_line(err)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as err:
            print(one_line(err) if isinstance(err, Interrupted) and str(err) else INTERRUPTED, file=sys.stderr)
            return 130

    return wrapped


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a multi-line message is joined with "; ")."""
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip())


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors raised as :class:`UserError`: under :func:`main_guard` they
    end in one line and exit code 2 like every other bad input (argparse itself prints the
    whole usage first)."""

    def error(self, message: str):
        raise UserError(f"{message} (see {self.prog} --help)")


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def parse_value(text: str):
    """The value of a ``KEY=VALUE`` on the command line.

    JSON where it parses (``2``, ``0.5``, ``[0,1,0]``, ``true``, ``null``; lists become
    tuples), else: ``none`` -> None, ``true``/``false`` in any case -> bool, a number that
    JSON does not take (``1.``, ``inf``), a comma-separated list -> a tuple of such values
    (``64,64`` -> ``(64, 64)``), anything else the plain string (``mean``).
    """
    text = text.strip()
    try:
        return _tuples(json.loads(text))
    except ValueError:
        pass
    if text.lower() in ("none", "true", "false"):
        return {"none": None, "true": True, "false": False}[text.lower()]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if "," in text:
        return tuple(parse_value(t) for t in text.split(",") if t.strip())
    return text


def parse_assignments(items: list[str] | None, flag: str, example: str) -> dict:
    """``["gamma=2", "lambdas=[0,1,0]"]`` -> ``{"gamma": 2, "lambdas": (0, 1, 0)}`` (see :func:`parse_value`)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} takes KEY=VALUE (e.g. {flag} {example}), got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


def parse_overrides(items: list[str] | None) -> dict:
    """``["steps=200", "crop=64,64"]`` -> ``{"steps": 200, "crop": (64, 64)}``."""
    return parse_assignments(items, "--set", "steps=200")


def writable_folder(path: str, flag: str = "--out") -> Path:
    """``path`` resolved, created when missing and checked writable by creating and removing
    a probe file in it, before any work starts (else a run would train to the end and fail
    to write its record). An empty path (which would mean the current folder) and a path
    naming a file are refused."""
    if not str(path).strip():
        raise UserError(f"{flag} is empty; give a folder (e.g. {flag} runs)")
    folder = Path(path).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{flag} {folder}: is a file, not a folder; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise UserError(f"{flag} {folder}: cannot write there ({err.strerror or err}); give a folder you can write to") from None
    return folder


def writable_file(path: str, flag: str) -> Path:
    """``path`` resolved and checked before any work: not empty, not a folder, and its folder
    (created when missing) writable, by creating and removing a probe file beside it; an
    existing file is left as it is (the run replaces it at its end)."""
    if not str(path).strip():
        raise UserError(f"{flag} is empty; give a file path (e.g. {flag} weights.pt)")
    file = Path(path).expanduser().resolve()
    if file.is_dir() or str(path).endswith(("/", os.sep)):
        raise UserError(f"{flag} {file}: is a folder; give a file path in it (e.g. {file / 'weights.pt'})")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=file.parent, prefix=".write-check-"):
            pass
    except OSError as err:
        raise UserError(f"{flag} {file}: cannot write there ({err.strerror or err}); give a path you can write to") from None
    return file


IMPORT_HELP = ("a file (my_loss.py), package folder or module of your own to import first, in this process and in every "
               "trial on any node: its methods, datasets, evaluators and suites register themselves; a .toml file "
               "holds suites as data (repeatable)")


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """The ``--import MODULE_OR_FILE`` option, the same on every command."""
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE_OR_FILE", help=IMPORT_HELP)


def import_from_argv(argv: list[str]) -> None:
    """Import every ``--import X`` / ``--import=X`` of ``argv`` before the parser is built,
    so that its help and choices list what they register. The parsed options are imported
    again by ``import_plugins`` (a no-op for these), which catches an abbreviated flag."""
    found = []
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--import" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--import="):
            found.append(arg.partition("=")[2])
    import_plugins(found)


def import_plugins(targets: list[str] | None) -> None:
    """Import each target (``methods.import_plugin``); a ``.toml`` file registers the suites
    it holds (``benchmark.suites.load_suite_file``). A target that cannot be imported is a
    ``UserError``: ``cannot import nothing.py: no such file``."""
    import methods

    for target in targets or []:
        if target.endswith(".toml"):
            from benchmark.suites import load_suite_file

            load_suite_file(target)
        else:
            try:
                methods.import_plugin(target)
            except methods.PluginError as err:
                raise UserError(str(err)) from None
