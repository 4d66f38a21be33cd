"""The output rules, in one place, checked before any work: an output is never an input, its folder is
writable, its suffix is the one the command writes, an existing file of another kind is never replaced,
one of the command's own kind only with ``--overwrite`` (or a training's ``--resume``).

:func:`check_output_file` applies all of them to one output file; :func:`check_result_sets` to the result
sets a command writes into an output folder (``fit``, ``regress``); :func:`check_overwrite` to the files of a
training run. Kinds are told apart by content (:mod:`hmr_flow.validation.file_kinds`). One run at a time per
output: :func:`hmr_flow.validation.exclusive_run`; writing itself: :mod:`hmr_flow.files`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hmr_flow.validation.errors import UserInputError
from hmr_flow.validation.file_kinds import FileKind, identify

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


def _check_kind(out: Path, kind: FileKind, overwrite: bool, option: str) -> None:
    """An existing ``out`` must be of ``kind`` (else refused, whatever the flags) and is replaced only with ``overwrite``."""
    if not out.exists():
        return
    found = identify(out)
    if found is not kind:
        raise UserInputError(f"{option} {out}: exists and is {found or 'not a regular file'}, not {kind.name}; "
                             f"refusing to replace it (choose another name)")
    if not overwrite:
        raise UserInputError(f"{option} {out}: already exists; pass --overwrite to replace it")


def check_output_file(out: str | Path, kind: FileKind, inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
                      option: str = "--out") -> Path:
    """Check an output file of ``kind`` before any work: :func:`check_output_path`, its suffix one of
    ``kind.suffixes``, and an existing file at ``out`` of the same kind (replaced only with ``overwrite``), never
    of another kind. Returns ``Path(out)``."""
    out = check_output_path(out, inputs, option)
    if out.suffix.lower() not in kind.suffixes:
        raise UserInputError(f"{option} {out}: this writes a {kind.suffix} file ({kind.name}); give the name a "
                             f"{' or '.join(kind.suffixes)} suffix")
    _check_kind(out, kind, overwrite, option)
    return out


def check_result_sets(folder: str | Path, files: Iterable[tuple[str | Path, FileKind]], overwrite: bool,
                      option: str = "--out") -> None:
    """Before a command writes its result sets into ``folder``: each ``(file, kind)`` it will write (the
    main file of each set, e.g. ``<name>_params.npz``) that exists already must be of ``kind`` and is only
    replaced with ``overwrite``."""
    for name, kind in files:
        path = Path(folder) / name
        if path.exists():
            found = identify(path)
            if found is not kind:
                raise UserInputError(f"{option} {folder}: {path.name} exists and is {found or 'not a regular file'}, "
                                     f"not {kind.name}; refusing to replace it (choose another folder)")
            if not overwrite:
                raise UserInputError(f"{option} {folder}: already holds {path.name} (an earlier run's results); pass "
                                     f"--overwrite to replace them")
