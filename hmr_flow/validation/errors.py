"""The errors of bad input: :class:`UserInputError` (exit 2 on the command line) and one-line reports."""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad user input (an option, a file or an output path); the message names it and the problem."""


class DivergedError(UserInputError):
    """An optimisation (fit or training) went non-finite or impossible: usually the inputs or settings
    (focal length, keypoints, learning rate) are at fault; the message says which to check."""


def first_line(err: BaseException) -> str:
    """The first non-empty line of ``str(err)``, stripped, with `` (…)`` when more lines follow; the
    exception's type name when it has no message. What every one-line report of an error shows."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} (…)"
