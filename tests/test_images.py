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
    assert header_size(b"GIF89a" + bytes(20)) is None


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
