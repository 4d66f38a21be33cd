"""Video frames read one at a time and written atomically; every bad clip is one VideoReadError naming it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hmr_flow.video import VideoReadError, read_frames, video_info, write_video


def _frame(index: int, size=(64, 48)) -> np.ndarray:
    """An RGB frame whose brightness tells its index (mp4v is lossy: compare means, not pixels)."""
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    frame[..., 0] = 20 * index
    frame[: size[1] // 2, :, 1] = 200  # top half green: checks RGB order and orientation
    return frame


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with write_video(path, (64, 48), 25.0) as writer:
        for i in range(7):
            writer.write(_frame(i))
    return path


def test_written_clip_reads_back_frame_by_frame(clip):
    info = video_info(clip)
    assert info.size == (64, 48) and info.fps == pytest.approx(25.0)
    frames = list(read_frames(clip))
    assert [i for i, _ in frames] == list(range(7))
    for index, frame in frames:
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert abs(float(frame[..., 0].mean()) - 20 * index) < 6  # red channel: the frame's own index
        assert frame[:24, :, 1].mean() > 150 > 50 > frame[24:, :, 1].mean()  # green on top
    assert [i for i, _ in read_frames(clip, every=3)] == [0, 3, 6]


def test_write_video_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="expected"), write_video(target, (64, 48), 30.0) as writer:
        writer.write(_frame(0))
        writer.write(_frame(1, size=(32, 32)))
    with pytest.raises(ValueError, match="no frames"), write_video(target, (64, 48), 30.0):
        pass
    assert list(tmp_path.iterdir()) == []


def _written(name: str, data: bytes):
    def make(folder):
        (folder / name).write_bytes(data)
        return folder / name

    return make


def _zero_frame_avi(folder):
    path = folder / "zero.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    writer.release()
    return path


def _size_change_sequence(folder):
    for i, size in enumerate([(64, 48)] * 2 + [(80, 60)]):
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), _frame(i, size))
    return folder / "f_%03d.png"


@pytest.mark.parametrize(("make", "message"), [
    (lambda folder: folder / "missing.mp4", "video not found"),
    (_written("empty.mp4", b""), "empty file"),
    (_written("junk.mp4", b"not a video" * 50), "not a video OpenCV can decode"),
    (_zero_frame_avi, "no frames"),
    (lambda folder: folder / "nothing_%03d.png", "no image matches"),
], ids=["missing", "empty", "junk", "zero-frames", "no-image-of-pattern"])
def test_bad_clips_name_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(VideoReadError, match=message) as raised:
        list(read_frames(path))
    assert path.name in str(raised.value)


def test_frame_size_change_is_refused_when_reached(tmp_path):
    pattern = _size_change_sequence(tmp_path)
    assert video_info(pattern).size == (64, 48)
    frames = read_frames(pattern)
    assert [next(frames)[0], next(frames)[0]] == [0, 1]
    with pytest.raises(VideoReadError, match=r"frame 2 is 80×60 pixels, the first frame 64×48"):
        next(frames)
