"""Input files checked before they are opened: :func:`check_input_file`."""

from __future__ import annotations

import stat
from pathlib import Path

from hmr_flow.validation.errors import UserInputError


def check_input_file(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is a regular file (or a link to one); else one line naming it:
    ``FileNotFoundError`` ``<path>: <what> not found``, or :class:`UserInputError` for a folder or for
    something that is not a regular file (``/dev/zero``, a pipe: reading one would never end)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} not found") from None
    except OSError as err:
        raise UserInputError(f"{path}: cannot read the {what} ({err.strerror or err})") from None
    if stat.S_ISDIR(mode):
        raise UserInputError(f"{path}: is a folder, expected a {what}")
    if not stat.S_ISREG(mode):
        raise UserInputError(f"{path}: not a regular file (a device, pipe or socket), expected a {what}")
    return path
