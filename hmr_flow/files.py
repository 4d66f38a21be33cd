"""Atomic file writes: a reader never sees a half-written output, an interrupted write leaves no debris.

The one place that writes "temporary file beside the target, then ``os.replace``" (the bottom layer of
the package: it imports only numpy and torch, so every module, ``data_tools``, ``demo`` and ``bench``
can use it). :func:`atomic_path` is the primitive; the rest are thin writers on top of it.

The temporary file is ``.<name>.<pid>.tmp<suffix>`` in the target's folder: hidden, unique per
process, on the same file system (so the rename is atomic), and it keeps the target's suffix, so
writers that choose a format by suffix (``trimesh.export``, ``np.savez`` which appends ``.npz`` to other
names) write the right format. If the writing fails, the temporary file is removed and the target is
untouched.

**Path-safe.** Every writer here opens its file with Python's own ``open`` and hands the library an open
file (``torch.save``, ``np.savez``) or bytes: any name the operating system accepts works, also one that
is not valid UTF-8 (``café.jpg`` in Latin-1 bytes arrives as ``'caf\udce9.jpg'``; OpenCV's ``imwrite``
crashes on such a name, so images are encoded in memory and written as bytes:
:func:`hmr_flow.images.write_image`). A refusal of the operating system (a full disk, permissions) is one
``OSError`` line that names the file: ``<path>: cannot write (No space left on device)``.

**Result sets.** :func:`write_set` writes several files that belong together (a fit's parameters and
meshes) so that a failure leaves the old set or the new one, never a mix.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch


def temporary_path(path: str | Path) -> Path:
    """The temporary name :func:`atomic_path` writes ``path`` under (same folder, same suffix)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; on a clean exit it replaces ``path``.

    Creates the parent folder. On an exception inside the block (or if the block wrote nothing) the
    temporary file is deleted and the exception propagates; ``path`` keeps its old content.

    Example::

        with atomic_path("out/person_0.ply") as tmp:
            mesh.export(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"{path}: nothing was written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cannot_write(path: str | Path, err: OSError) -> OSError:
    """``err`` as one line ``<path>: cannot write (<reason>)`` (as it is when it names ``path`` already)."""
    return err if str(path) in str(err) else OSError(f"{path}: cannot write ({err.strerror or err})")


def write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` into :func:`atomic_path`'s temporary file, which then replaces ``path``; returns
    ``path``. A refusal of the operating system is one ``OSError`` line ``<path>: cannot write (<reason>)``."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except OSError as err:
        raise cannot_write(path, err) from None
    return path


def bytes_writer(data: bytes) -> Callable[[Path], None]:
    """``write(tmp)`` of ``data``, for :func:`write_with` and :func:`write_set`."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    return write


def write_set(writes: dict[Path, Callable[[Path], object]], stale: Iterable[str | Path] = ()) -> list[Path]:
    """Write a result set whose files belong together: ``writes`` maps each target to ``write(tmp)``; the
    files of an earlier set that the new one does not have (``stale``) are removed. Returns the targets.

    Every temporary file is written first; only when all are complete do they replace their targets (the
    old ones moved aside until the last is in place, then deleted). A failure anywhere — a full disk, an
    interruption — leaves the old set as it was (and no temporary file), never new files beside old ones.
    """
    targets = [Path(p) for p in writes]
    done: list[tuple[Path, Path]] = []  # (temporary, target) fully written
    moved: list[tuple[Path, Path]] = []  # (backup, target) of the old set
    placed: list[Path] = []
    try:
        for target, write in zip(targets, writes.values()):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = temporary_path(target)
            done.append((tmp, target))
            try:
                write(tmp)
                if not tmp.exists():
                    raise OSError(f"{target}: nothing was written")
            except OSError as err:
                raise cannot_write(target, err) from None
        old = [Path(p) for p in stale if Path(p) not in targets] + targets
        for target in old:
            if target.is_file():
                backup = target.with_name(f".{target.name}.{os.getpid()}.old")
                os.replace(target, backup)
                moved.append((backup, target))
        for tmp, target in done:
            os.replace(tmp, target)
            placed.append(target)
    except BaseException:
        for target in placed:
            target.unlink(missing_ok=True)
        for backup, target in moved:
            os.replace(backup, target)
        raise
    finally:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
    for backup, _ in moved:
        backup.unlink(missing_ok=True)
    return targets


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_torch(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically; returns ``path``."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)

    return write_with(path, write)


def npz_writer(arrays: dict[str, np.ndarray], compressed: bool = False) -> Callable[[Path], None]:
    """``write(tmp)`` of ``np.savez`` (or ``np.savez_compressed``) of plain arrays, for :func:`write_with`
    and :func:`write_set`."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)

    return write


def save_npz(arrays: dict[str, np.ndarray], path: str | Path, compressed: bool = False) -> Path:
    """``np.savez`` (or ``np.savez_compressed``) of plain arrays to ``path`` atomically (no pickles:
    every value must be an array of a non-object dtype); returns ``path``. A refusal of the operating
    system is one ``OSError`` line ``<path>: cannot write (<reason>)``."""
    return write_with(path, npz_writer(arrays, compressed))


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding) as handle:
            handle.write(text)

    return write_with(path, write)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """A CSV with ``header`` and ``rows`` at ``path`` atomically; returns ``path``. ``rows`` may be a
    generator: they are written as they come (a large table is never held in memory)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    return write_with(path, write)
