"""Atomic file writes: a reader never sees a half-written output, an interrupted write leaves no debris.

The one place that writes "temporary file beside the target, then ``os.replace``" (the bottom layer of
the package: it imports only numpy and torch, so every module, ``data_tools``, ``demo`` and ``bench``
can use it). :func:`atomic_path` is the primitive; the rest are thin writers on top of it.

The temporary file is ``.<name>.<pid>.tmp<suffix>`` in the target's folder: hidden, unique per
process, on the same file system (so the rename is atomic), and it keeps the target's suffix, so
writers that choose a format by suffix (``cv2.imwrite``, ``trimesh.export``, ``np.savez`` which
appends ``.npz`` to other names) write the right format. If the writing fails, the temporary file is
removed and the target is untouched.
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

        with atomic_path("out/overlay.png") as tmp:
            cv2.imwrite(str(tmp), image)
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


def write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` into :func:`atomic_path`'s temporary file, which then replaces ``path``; returns
    ``path``. A refusal of the operating system is one ``OSError`` line ``<path>: cannot write (<reason>)``."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except OSError as err:
        raise OSError(f"{path}: cannot write ({err.strerror or err})") from None
    return path


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_torch(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def save_npz(arrays: dict[str, np.ndarray], path: str | Path, compressed: bool = False) -> Path:
    """``np.savez`` (or ``np.savez_compressed``) of plain arrays to ``path`` atomically (no pickles:
    every value must be an array of a non-object dtype); returns ``path``. A refusal of the operating
    system is one ``OSError`` line ``<path>: cannot write (<reason>)``."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)

    return write_with(path, write)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """A CSV with ``header`` and ``rows`` at ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
