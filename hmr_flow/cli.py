"""hmr-flow: fit, sample and score SMPL bodies with normalizing flows (the ``hmr-flow`` command line).

The sub-commands live in :mod:`hmr_flow.commands` (one module per group, each with
``register(subparsers)``, every parser setting ``run=<callable(args) -> exit code>``); this module only
wires them up. :func:`main` builds a command's parser only when that command is run, so ``hmr-flow
--help``, ``--version`` and an unknown command cost argparse alone (no torch). ``python -m data_tools`` and the demo scripts use the same error path
(:class:`ArgumentParser`, :func:`run_guarded`).

Bad input (a bad option, a missing or corrupt file, wrong shapes, NaN, an output that would overwrite
an input, ...) is a :class:`hmr_flow.validation.UserInputError` (the loaders turn what they find wrong
in a file into one) or an operating system's refusal (``OSError``: a missing file, permissions, a full
disk): it ends the command with one line ``<prog>: error: <file or option>: <problem>`` and exit status
2. Anything else — a plain ``ValueError`` too — is an internal error, a bug: one line naming it, asking
to report it, and exit status 1; ``--debug`` (or ``HMR_FLOW_DEBUG=1``) shows the traceback instead.

SIGTERM (``kill``, a job scheduler's time limit) ends a command as Ctrl-C does: the ``finally`` blocks run,
so no temporary file, lock or half-replaced result set is left; one line ``<prog>: terminated`` and exit
status 143 (128 + 15). File names that are not valid UTF-8 are printed with backslash escapes instead of
ending the command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hmr_flow.commands import SUMMARIES

#: Modules of :mod:`hmr_flow.commands` that add sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = tuple(SUMMARIES)


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that are the user's input, not a bug: :class:`hmr_flow.validation.UserInputError` and
    operating-system refusals (missing files, permissions, full disk, ...)."""
    from hmr_flow.validation import UserInputError  # here, not at the top: it imports torch

    return (UserInputError, OSError)


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default (``(default: …)``), except unset (``None``) and off flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default is argparse.SUPPRESS
        shown = not unset and action.option_strings
        if shown and "%(default)" not in text and "default:" not in text:
            text += " (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` parser whose errors are one line ``<prog>: error: <message>`` (exit 2; ``<prog>`` is
    the top-level program, also for sub-commands), with a ``--debug`` flag on every (sub-)parser and every
    option's default in ``--help``."""

    def __init__(self, *args, root_prog: str | None = None, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.root_prog = root_prog or self.prog
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="show the traceback of internal errors (also HMR_FLOW_DEBUG=1)")

    def error(self, message: str):
        self.exit(2, f"{self.root_prog}: error: {message}\n")

    def add_subparsers(self, **kwargs):
        action = super().add_subparsers(**kwargs)
        make = action.add_parser

        def add_parser(name, **options):
            return make(name, root_prog=self.root_prog, **options)

        action.add_parser = add_parser
        return action


class Terminated(BaseException):
    """SIGTERM arrived: raised where the program is, so that ``finally`` blocks clean up as for Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated


@contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread only: elsewhere signals
    cannot be handled); the previous handler afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _printable_names() -> None:
    """Print file names that are not valid UTF-8 (``'caf\\udce9.jpg'``) with backslash escapes: a strict
    stdout would end the command on them."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def run_guarded(prog: str, action: Callable[[], int | None], debug: bool = False) -> int:
    """Run ``action``; user errors (:func:`user_errors`) → one line and exit 2, other exceptions → one line
    asking to report the bug and exit 1 (the traceback itself with ``debug`` or ``HMR_FLOW_DEBUG=1``);
    Ctrl-C → exit 130, SIGTERM → exit 143, each after the ``finally`` blocks have cleaned up."""
    from hmr_flow.validation import first_line

    debug = debug or bool(os.environ.get("HMR_FLOW_DEBUG"))
    _printable_names()
    try:
        with sigterm_as_exception():
            return int(action() or 0)
    except user_errors() as err:
        if debug:
            raise
        print(f"{prog}: error: {first_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as err:  # noqa: BLE001 - the last resort: a bug, reported in one line plus the hint
        if debug:
            raise
        print(f"{prog}: internal error: {type(err).__name__}: {first_line(err)} (a bug: please report it with the "
              f"traceback that --debug shows)", file=sys.stderr)
        return 1


def build_parser(prog: str, description: str, modules: list[str]) -> argparse.ArgumentParser:
    """A parser whose sub-commands are registered by each ``<module>.register(subparsers)``."""
    parser = ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


class _LazyCommands(argparse._SubParsersAction):
    """Sub-commands listed by name and summary, each registered by its module only when it is parsed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: command name → the module that registers it, for the commands not registered yet
        self.modules: dict[str, str] = {}

    def add_lazy(self, name: str, summary: str, module: str) -> None:
        """List ``name`` with ``summary``; ``module.register(subparsers)`` adds its parser when it is chosen."""
        self.add_parser(name, help=summary)
        self.modules[name] = module

    def __call__(self, parser, namespace, values, option_string=None):
        module = self.modules.pop(values[0], None)
        if module is not None:  # swap the placeholder for the real parser (its summary line stays listed)
            del self._name_parser_map[values[0]]
            listed = list(self._choices_actions)
            importlib.import_module(module).register(self)
            self._choices_actions[:] = listed
        super().__call__(parser, namespace, values, option_string)


def lazy_parser(prog: str, description: str, summaries: dict[str, str], package: str) -> argparse.ArgumentParser:
    """The parser :func:`build_parser` makes of the modules ``<package>.<name>`` of ``summaries`` (command name
    → its one-line help, one command per module, named alike), except that a command's module is imported and
    registered only when that command is parsed."""
    parser = ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True, action=_LazyCommands)
    for name, summary in summaries.items():
        subparsers.add_lazy(name, summary, f"{package}.{name}")
    return parser


def run_commands(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv`` and run the chosen command through :func:`run_guarded`."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a bad option (2, already printed)
        return int(stop.code or 0)
    return run_guarded(parser.prog, lambda: args.run(args), getattr(args, "debug", False))


def main(argv: list[str] | None = None) -> int:
    from hmr_flow import __version__

    parser = lazy_parser("hmr-flow", __doc__.splitlines()[0], SUMMARIES, "hmr_flow.commands")
    parser.add_argument("--version", action="version", version=f"hmr-flow {__version__}")
    return run_commands(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
