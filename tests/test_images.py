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
