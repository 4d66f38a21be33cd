"""One run at a time per output: :func:`exclusive_run`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hmr_flow.validation.errors import UserInputError

def lock_path(out: str | Path) -> Path:
    """The lock file of the run writing ``out``: ``.<name>.lock`` beside it."""
    out = Path(out)
    return out.with_name(f".{out.name}.lock")


@contextmanager
def exclusive_run(out: str | Path, option: str = "--out") -> Iterator[Path]:
    """Hold an exclusive lock on ``out`` for the ``with`` block: a second run writing the same output (in
    another process) gets a :class:`UserInputError` naming the running one's pid, instead of interleaving
    its epochs with the first's and replacing its files.

    The lock is ``fcntl.flock`` (non-blocking) on :func:`lock_path` holding the pid of its owner; the
    operating system releases it when the owner exits, even when killed, so a stale file never blocks a
    later run. The file is removed at the end of the block. (Without ``fcntl``, i.e. on Windows, no lock
    is taken.)
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        yield Path(out)
        return
    path = lock_path(out)
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise UserInputError(f"{option} {out}: another run (pid {owner}) is writing it now; wait for it to end "
                                 f"or choose another {option}") from None
        # the previous owner may have removed the file between our open and our lock: lock the one on disk
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        try:  # the pid only names the owner to a second run; the lock holds without it (a full disk)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        except OSError:
            pass
        yield path
    finally:
        path.unlink(missing_ok=True)
        handle.close()
