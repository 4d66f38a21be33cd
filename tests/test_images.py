"""``hmr_flow.images.read_rgb``: a real image reads as RGB; missing and corrupt files name the file."""

import cv2
import numpy as np
import pytest

from hmr_flow.images import ImageReadError, read_rgb


def test_reads_rgb(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    rgb = read_rgb(tmp_path / "red.png")
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == 255).all() and (rgb[..., 1:] == 0).all()


def test_missing_and_corrupt_images_name_the_file(tmp_path):
    with pytest.raises(ImageReadError, match="nothere.jpg: image not found"):
        read_rgb(tmp_path / "nothere.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageReadError, match="bad.jpg: unreadable or corrupt image"):
        read_rgb(tmp_path / "bad.jpg")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_images_are_errors_that_name_the_file(tmp_path, suffix):
    cv2.imwrite(str(tmp_path / f"full{suffix}"), np.random.default_rng(0).integers(0, 255, (64, 48, 3), np.uint8))
    data = (tmp_path / f"full{suffix}").read_bytes()
    assert read_rgb(tmp_path / f"full{suffix}").shape == (64, 48, 3)
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageReadError, match=f"cut\\{suffix}: truncated"):
        read_rgb(tmp_path / f"cut{suffix}")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".webp"])
def test_header_size_is_read_without_decoding(tmp_path, suffix):
    from hmr_flow.images import header_size

    for width, height in ((48, 64), (301, 7)):
        ok, encoded = cv2.imencode(suffix, np.zeros((height, width, 3), np.uint8))
        assert ok
        assert header_size(encoded.tobytes()) == (width, height)
    assert header_size(b"XYZW" + bytes(20)) is None  # a format OpenCV does not read


def _huge_jpeg(width: int, height: int) -> bytes:
    """A 64×64 JPEG whose start-of-frame claims ``width`` × ``height`` pixels."""
    data = bytearray(cv2.imencode(".jpg", np.full((64, 64, 3), 90, np.uint8))[1].tobytes())
    frame = data.find(b"\xff\xc0")
    data[frame + 5 : frame + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_decoder_cases_on_the_pinned_opencv(tmp_path):
    """OpenCV 5 asserts (``!buf.empty()``) on an empty buffer and decodes a huge header into a grey image:
    both are refused before decoding, naming the file; a short file is unreadable."""
    assert int(cv2.__version__.split(".")[0]) == 5, "pyproject.toml pins opencv-python-headless 5.x"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.jpg: empty file"):
        read_rgb(tmp_path / "empty.jpg")
    (tmp_path / "short.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ImageReadError, match="short.jpg: unreadable or corrupt image"):
        read_rgb(tmp_path / "short.jpg")
    (tmp_path / "huge.jpg").write_bytes(_huge_jpeg(20000, 20000))
    with pytest.raises(ImageReadError, match="huge.jpg: its header claims 20000×20000 pixels, over the limit"):
        read_rgb(tmp_path / "huge.jpg")
    (tmp_path / "fine.jpg").write_bytes(_huge_jpeg(64, 64))
    assert read_rgb(tmp_path / "fine.jpg").shape == (64, 64, 3)


def _encoded(suffix: str, width: int, height: int) -> bytes:
    """An image of ``width`` × ``height`` pixels in the format of ``suffix``, encoded by OpenCV."""
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    if suffix in (".pbm", ".pgm"):
        image = image[..., 0] > 128 if suffix == ".pbm" else image[..., 0]
        image = image.astype(np.uint8)
    elif suffix in (".pfm", ".hdr"):
        image = image.astype(np.float32) / 255
    ok, encoded = cv2.imencode(".jp2" if suffix == ".j2k" else suffix, image)
    assert ok, suffix
    data = encoded.tobytes()
    return data[data.find(b"jp2c") + 4 :] if suffix == ".j2k" else data  # the bare codestream of a JP2


#: Every format the pinned OpenCV decodes (its build: no OpenEXR); ``.j2k`` is a JPEG 2000 codestream.
DECODED_FORMATS = (".jpg", ".png", ".bmp", ".webp", ".tiff", ".gif", ".pbm", ".pgm", ".ppm", ".pam", ".pfm", ".ras",
                   ".hdr", ".jp2", ".j2k", ".avif")


@pytest.mark.parametrize("suffix", DECODED_FORMATS)
def test_every_decoded_format_has_its_size_read_from_the_header(tmp_path, suffix, monkeypatch):
    """The header's size is what OpenCV decodes, for every format it reads; so the pixel limit refuses an
    oversized file of any format before decoding (here a limit of 2000 pixels: 70 × 33 = 2310 is over it)."""
    from hmr_flow import images
    from hmr_flow.image_headers import header_size, image_format

    data = _encoded(suffix, 70, 33)
    assert image_format(data) is not None and header_size(data) == (70, 33)
    (tmp_path / f"x{suffix}").write_bytes(data)
    assert read_rgb(tmp_path / f"x{suffix}").shape == (33, 70, 3)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 2000)
    with pytest.raises(ImageReadError, match=f"x\\{suffix}: its header claims 70×33 pixels, over the limit"):
        read_rgb(tmp_path / f"x{suffix}")


def test_formats_opencv_does_not_read_and_headers_without_a_size_are_refused(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"\x76\x2f\x31\x01" + bytes(60))  # OpenEXR: not in this OpenCV build
    with pytest.raises(ImageReadError, match="x.jpg: unreadable or corrupt image \\(not one of the formats read"):
        read_rgb(tmp_path / "x.jpg")
    (tmp_path / "y.tiff").write_bytes(b"II*\x00\x08\x00\x00\x00\x00\x00")  # a TIFF directory without a size
    with pytest.raises(ImageReadError, match="y.tiff: unreadable or corrupt image \\(its TIFF header gives no size"):
        read_rgb(tmp_path / "y.tiff")


def test_only_regular_files_are_read():
    with pytest.raises(ImageReadError, match="/dev/zero: not a regular file"):
        read_rgb("/dev/zero")


def test_write_image_takes_any_file_name(tmp_path):
    import os

    from hmr_flow.images import write_image

    name = tmp_path / os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: cv2.imwrite crashes on this name
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    write_image(name, rgb)
    assert (read_rgb(name)[..., 0] == 255).all() and sorted(p.name for p in tmp_path.iterdir()) == [name.name]
