"""BVH parser: round trip of a tiny hand-written file, Euler orders, and malformed-file errors."""

from __future__ import annotations

import numpy as np
import pytest

from data_tools.mocap.bvh import BvhError, read_bvh

TINY = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 2 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 0 0 0
10 20 30 90 0 0 0 0 90
"""


def _write(tmp_path, text: str):
    path = tmp_path / "clip.bvh"
    path.write_text(text)
    return path


def test_round_trip_known_positions(tmp_path):
    motion = read_bvh(_write(tmp_path, TINY))
    assert motion.names == ["root", "arm", "arm_end"]
    assert motion.parents.tolist() == [-1, 0, 1]
    assert motion.fps == pytest.approx(2.0)
    _, pos = motion.forward_kinematics()
    np.testing.assert_allclose(pos[0], [[0, 0, 0], [1, 0, 0], [3, 0, 0]], atol=1e-12)
    # frame 1: root at (10,20,30) turned 90° about Z (x → y); arm turns another 90° about Z (x → -x)
    np.testing.assert_allclose(pos[1], [[10, 20, 30], [10, 21, 30], [8, 21, 30]], atol=1e-9)


def test_euler_order_follows_channel_order(tmp_path):
    # Zrotation Yrotation Xrotation = Rz @ Ry @ Rx: (x=90, y=90) maps the arm's +x offset to -z
    text = TINY.replace("10 20 30 90 0 0 0 0 90", "0 0 0 0 90 90 0 0 0")
    _, pos = read_bvh(_write(tmp_path, text)).forward_kinematics()
    np.testing.assert_allclose(pos[1, 1], [0, 0, -1], atol=1e-9)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("HIERARCHY", "HIERARCH", "clip.bvh:1: expected 'HIERARCHY'"),
        ("OFFSET 1 0 0", "OFFSET 1 0", "clip.bvh:8: expected 3 numbers for OFFSET"),
        ("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 3 Xrotation Yrotation", "declares 3 channels but lists 2"),
        ("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 3 Xrotation Yrotation Wrotation", "unknown channel 'Wrotation'"),
        ("Frames: 2", "Frames: 3", "header says 3 frames but only 2 follow"),
        ("10 20 30 90 0 0 0 0 90", "10 20 30 90 0 0 0 0", "clip.bvh:20: expected 9 numbers for frame 1"),
        ("10 20 30 90 0 0 0 0 90", "10 20 30 90 0 0 0 0 nan", "non-finite value in frame 1"),
        ("Frame Time: 0.5", "Frame Time: 0", "Frame Time must be 0.0001 to 10 seconds, got 0"),
        ("Frame Time: 0.5", "Frame Time: 1e-300", "Frame Time must be 0.0001 to 10 seconds, got 1e-300"),
        ("Frames: 2", "Frames: 0", "expected 1 to 10000000 frames, got 0"),
        ("    End Site", "    Blob", "expected JOINT, End Site or '}'"),
    ],
)
def test_malformed_files_name_file_line_and_problem(tmp_path, old, new, message):
    with pytest.raises(BvhError, match=message.replace("(", r"\(").replace("'", "'")):
        read_bvh(_write(tmp_path, TINY.replace(old, new)))


def test_truncated_hierarchy_and_missing_file(tmp_path):
    with pytest.raises(BvhError, match="unexpected end of file"):
        read_bvh(_write(tmp_path, "\n".join(TINY.splitlines()[:6])))
    with pytest.raises(FileNotFoundError, match="BVH file not found"):
        read_bvh(tmp_path / "absent.bvh")
