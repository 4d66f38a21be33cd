"""Output paths checked before any work: never an input, folders writable, existing runs replaced only when asked."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hmr_flow.validation.errors import UserInputError

def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_writable_dir(folder: str | Path, option: str = "--out") -> Path:
    """Create ``folder`` if needed and prove it is writable (a temporary file); else :class:`UserInputError`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{option} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserInputError(f"{option} {folder}: folder is not writable ({err.strerror or err})") from None
    return folder


def check_output_path(out: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check an output file before any work: not one of ``inputs`` (same path or same file), not a
    folder, and its folder writable (created if missing). Returns ``Path(out)``."""
    out = Path(out)
    for source in inputs:
        if source is not None and _same_file(out, Path(source)):
            raise UserInputError(f"{option} {out}: is also an input; refusing to overwrite it (choose another name)")
    if out.is_dir():
        raise UserInputError(f"{option} {out}: is a folder, expected a file name")
    check_writable_dir(out.parent, option)
    return out


def check_output_dir(out: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check an output folder before any work: not an input file or folder, creatable and writable."""
    out = Path(out)
    for source in inputs:
        if source is not None and _same_file(out, Path(source)) and not Path(source).is_dir():
            raise UserInputError(f"{option} {out}: is an input file, expected an output folder")
    return check_writable_dir(out, option)


def check_overwrite(paths: Iterable[str | Path], resume: bool, overwrite: bool, option: str = "--out") -> None:
    """Refuse to start a fresh run over an existing checkpoint (or its state/log files) unless the user
    said ``--resume`` or ``--overwrite``."""
    if resume or overwrite:
        return
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing:
        raise UserInputError(f"{option}: {existing[0]} already exists; pass --resume to continue that run or "
                             f"--overwrite to replace it")
