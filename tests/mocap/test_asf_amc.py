"""Acclaim ASF/AMC reader: a hand-made two-bone skeleton posed by hand, refused files (file:line), the
command line, and HDM05's real files (../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from data_tools.mocap.asf_amc import AsfAmcError, find_asf, read_amc, read_asf
from data_tools.mocap.convert import HDM05_SUBJECTS, infer_subject, read_motion

#: metres per ASF length unit under ``length 0.45`` (inches × 0.45, as CMU and HDM05)
UNIT = 0.0254 / 0.45

# A thigh hanging from the root and a shin along +x from the thigh's end. The thigh's frame is turned 90°
# about Z (its local x is world +y) and its dofs are listed rz before rx; the shin's frame is turned 90°
# about Y (its local x is world -z).
ASF = """# two bones
:version 1.10
:name VICON
:units
  mass 1.0
  length 0.45
  angle deg
:documentation
   hand-made
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name thigh
     direction 0 -1 0
     length 4.5
     axis 0 0 90  XYZ
    dof rz rx
    limits (-180.0 180.0)
           (-180.0 180.0)
  end
  begin
     id 2
     name shin
     direction 1 0 0
     length 9
     axis 0 90 0  XYZ
    dof rx
    limits (-10.0 170.0)
  end
:hierarchy
  begin
    root thigh
    thigh shin
  end
"""

AMC = """#!OML:ASF F:\\f\xfcr Bonn\\two.ASF
:FULLY-SPECIFIED
:DEGREES
1
root 1 2 3 0 0 0
thigh 0 0
shin 0
2
root 0 0 0 0 0 0
thigh 90 90
shin 90
3
root 1 2 3 90 0 90
thigh 0 0
shin 0
"""


def _write(tmp_path, asf: str = ASF, amc: str | bytes = AMC, name: str = "two.amc"):
    (tmp_path / "two.asf").write_text(asf)
    path = tmp_path / name
    path.write_bytes(amc if isinstance(amc, bytes) else amc.encode("latin-1"))
    return path, tmp_path / "two.asf"


def test_two_bones_posed_by_hand(tmp_path):
    """Positions worked out by hand (units of 0.0254 / 0.45 m; R_a(θ) = rotation about axis a):

    frame 1: no rotation, root at (1, 2, 3): the thigh's end 4.5 below it, the shin's 9 along +x.
    frame 2: the thigh turns by C Rx(90) Rz(90) C⁻¹ = R_y(90) R_z(90) (C = Rz(90) takes x to y; rz is
    listed first, so it acts first): (0, -1, 0) → R_z(90) → (1, 0, 0) → R_y(90) → (0, 0, -1), the thigh
    ends at (0, 0, -4.5). The shin turns by C' Rx(90) C'⁻¹ = R_-z(90) (C' = Ry(90) takes x to -z), so in
    the world by R_y(90) R_z(90) R_z(-90) = R_y(90): its (1, 0, 0) → (0, 0, -1), ending at (0, 0, -13.5).
    Wrong conventions end elsewhere: dofs in the other order (4.5, 0, 0), C⁻¹ M C (0, 0, 4.5), no C
    (4.5, 0, 0).
    frame 3: the root turns by Rz(90) Rx(90) (order RX RY RZ: x first): the thigh's (0, -1, 0) → (0, 0, -1),
    the shin's (1, 0, 0) → (0, 1, 0); the root order reversed would put the thigh's end at (5.5, 2, 3).
    """
    path, _ = _write(tmp_path)
    motion = read_amc(path)
    assert motion.names == ["root", "thigh", "shin", "shin_end"]
    assert motion.parents.tolist() == [-1, 0, 1, 2] and motion.num_frames == 3 and motion.fps == 120.0
    _, pos = motion.forward_kinematics()
    expected = np.array([
        [[1, 2, 3], [1, 2, 3], [1, -2.5, 3], [10, -2.5, 3]],
        [[0, 0, 0], [0, 0, 0], [0, 0, -4.5], [0, 0, -13.5]],
        [[1, 2, 3], [1, 2, 3], [1, 2, -1.5], [1, 11, -1.5]],
    ])
    np.testing.assert_allclose(pos, UNIT * expected, atol=1e-12)
    np.testing.assert_allclose(motion.rest_positions(), UNIT * np.array([[0, 0, 0], [0, 0, 0], [0, -4.5, 0],
                                                                         [9, -4.5, 0]]), atol=1e-12)
    rot, _ = motion.forward_kinematics(slice(1, 2))
    np.testing.assert_allclose(rot[0, 2] @ [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], atol=1e-12)  # the shin: R_y(90)


def test_skeleton_fields_and_units(tmp_path):
    _, asf = _write(tmp_path)
    skeleton = read_asf(asf)
    assert skeleton.dofs == (("tx", "ty", "tz", "rx", "ry", "rz"), ("rz", "rx"), ("rx",), ())
    assert skeleton.columns == {"root": (0, 6), "thigh": (6, 2), "shin": (8, 1)} and skeleton.width == 9
    np.testing.assert_allclose(skeleton.limits[2], [(np.radians(-10), np.radians(170))])
    np.testing.assert_allclose(skeleton.frames[1] @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    radians = _write(tmp_path, ASF.replace("angle deg", "angle rad").replace("0 0 90  XYZ", "0 0 1.5707963267948966 XYZ")
                     .replace("0 90 0  XYZ", "0 1.5707963267948966 0 XYZ"), AMC.replace(":DEGREES", ":RADIANS")
                     .replace("thigh 90 90", "thigh 1.5707963267948966 1.5707963267948966")
                     .replace("shin 90", "shin 1.5707963267948966").replace("90 0 90", "1.5707963267948966 0 "
                                                                             "1.5707963267948966"))[0]
    np.testing.assert_allclose(read_amc(radians).forward_kinematics()[1], read_amc(_write(tmp_path)[0])
                               .forward_kinematics()[1], atol=1e-12)


def _error(call, *args) -> str:
    with pytest.raises(AsfAmcError) as error:
        call(*args)
    return str(error.value)


@pytest.mark.parametrize(
    "old, new, where, problem",
    [
        (":documentation", ":documents", "two.asf:8:", "unknown keyword ':documents'"),
        ("     id 2", "     colour red", "two.asf:27:", "unknown bone field 'colour'"),
        ("    thigh shin", "    thigh shin calf", "two.asf:38:", "hierarchy names bone 'calf', which :bonedata does"),
        ("    thigh shin\n", "", "two.asf:26:", "bone 'shin' is not in the :hierarchy"),
        ("           (-180.0 180.0)\n", "", "two.asf:24:", "bone 'thigh' has 2 dofs but 1 limits"),
        ("     direction 1 0 0\n", "", "two.asf:33:", "bone shin (begun at line 26) has no direction"),
        ("    dof rx\n", "    dof tx\n", "two.asf:32:", "translation dofs are not supported"),
        ("0 90 0  XYZ", "0 90 0  XYX", "two.asf:31:", "expected an axis order such as XYZ, got 'XYX'"),
        ("length 9", "length nine", "two.asf:30:", "expected numbers for length, got 'nine'"),
        ("angle deg", "angle grad", "two.asf:7:", "angle unit must be deg or rad"),
        ("   order TX TY TZ RX RY RZ", "   order TX TY TZ RX RX RZ", "two.asf:11:", "root order must list distinct"),
        (":hierarchy\n  begin\n    root thigh\n    thigh shin\n  end\n", "", "two.asf:", "no :hierarchy section"),
        ("1\nroot 1 2 3 0 0 0\nthigh 0 0\nshin 0\n", "1\nroot 1 2 3 0 0 0\nthigh 0 0\n", "two.amc:4:",
         "frame 1 (line 4) lacks bones ['shin']: incomplete frame"),
        ("thigh 90 90", "thigh 90", "two.amc:10:", "bone 'thigh' has 2 dofs (rz rx) in two.asf, got 1 values"),
        ("90 0 90\nthigh 0 0\nshin 0\n", "90 0 90\nthigh 0 0\n", "two.amc:15:",
         "frame 3 (line 12) lacks bones ['shin']: the file ends inside frame (truncated file?)"),
        ("shin 90", "calf 90", "two.amc:11:", "bone 'calf' is not in the skeleton two.asf"),
        (":DEGREES", ":SECONDS", "two.amc:3:", "unknown keyword ':SECONDS'"),
        ("thigh 90 90", "thigh 9x 90", "two.amc:10:", "rz of bone 'thigh' is '9x', not a finite number"),
        ("thigh 90 90", "thigh 90 nan", "two.amc:10:", "rx of bone 'thigh' is 'nan', not a finite number"),
        ("shin 90", "shin 1e30", "two.amc:11:", "rx of bone 'shin' is '1e30', not a finite number within ±36000°"),
        ("2\nroot 0 0 0", "5\nroot 0 0 0", "two.amc:8:", "frame number 5 follows frame 1"),
        ("shin 90", "shin 90\nthigh 1 1", "two.amc:12:", "bone 'thigh' appears twice in frame 2"),
        ("1\nroot 1 2 3 0 0 0", "root 1 2 3 0 0 0", "two.amc:4:", "expected a frame number, got 'root 1 2 3 0 0 0'"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, old, new, where, problem):
    """Each broken skeleton or clip (``where`` names which) is refused naming its path, line and problem."""
    skeleton = where.startswith("two.asf")
    text = ASF if skeleton else AMC
    assert old in text
    path, asf = _write(tmp_path, **{"asf" if skeleton else "amc": text.replace(old, new)})
    message = _error(read_asf, asf) if skeleton else _error(read_amc, path)
    assert str(tmp_path) in message and where in message and problem in message, message


def test_latin1_header_is_read_but_garbage_and_binary_are_refused(tmp_path):
    """HDM05's header holds the Latin-1 byte 0xFC (ü): fine in a comment. The same kind of byte in a value
    is a bad number on its line; a NUL byte makes the file binary."""
    data = AMC.encode("latin-1")
    assert b"\xfc" in data and read_amc(_write(tmp_path, amc=data)[0]).num_frames == 3
    path, _ = _write(tmp_path, amc=data.replace(b"thigh 90 90", b"thigh 9\xff0 90"))
    message = _error(read_amc, path)
    assert f"{path}:10:" in message and "rz of bone 'thigh' is '9\\xff0'" in message
    path, _ = _write(tmp_path, amc=data.replace(b"shin 90", b"shin \x00\x01"))
    assert f"{path}:11: not a text AMC file (NUL byte" in _error(read_amc, path)


def test_skeleton_lookup_beside_the_clip(tmp_path):
    _, asf = _write(tmp_path)
    for clip, skeleton in (("HDM_bd_squat1Reps_001_120.amc", "HDM_bd.asf"), ("86_02.amc", "86.asf"),
                           ("walk.amc", "walk.asf")):
        (tmp_path / skeleton).write_text(ASF)
        (tmp_path / clip).write_text(AMC)
        assert find_asf(tmp_path / clip) == tmp_path / skeleton
    (tmp_path / "alone.amc").write_text(AMC)
    assert "no skeleton beside the clip (looked for alone.asf); pass --asf FILE" in _error(find_asf, tmp_path / "alone.amc")
    assert read_motion(tmp_path / "alone.amc", asf).num_frames == 3
    assert infer_subject(tmp_path / "HDM_mm_kickLFront1Reps_003_120.amc") == HDM05_SUBJECTS["mm"] == 1004
    with pytest.raises(ValueError, match="unknown HDM05 actor 'zz'"):
        infer_subject(tmp_path / "HDM_zz_kick_001_120.amc")


def test_convert_command_refuses_a_bad_clip_naming_file_and_line(tmp_path, capfd):
    from data_tools.__main__ import main

    path, asf = _write(tmp_path, amc=AMC.replace("shin 90", "shin 90 5"), name="clip.amc")
    out = tmp_path / "poses.npz"
    code = main(["mocap", "convert", str(path), "--asf", str(asf), "--subject", "7", "--out", str(out),
                 "--workers", "1"])
    err = capfd.readouterr().err
    assert code == 2 and f"error: {path}:11: bone 'shin' has 1 dofs (rx) in two.asf, got 2 values" in err, err
    assert not out.exists()
    code = main(["mocap", "convert", str(tmp_path / "two.asf"), "--asf", str(asf), "--subject", "7", "--out", str(out)])
    assert code == 2 and "none of the inputs is an .amc clip" in capfd.readouterr().err
    assert main(["mocap", "report", "--asf", str(asf)]) == 2  # the shared folders: no inputs to apply it to
    assert "--asf" in capfd.readouterr().err


def test_hdm05_skeletons_and_a_clip(shared_data):
    """The real files: the four actors' skeletons (CMU's bone names), a squat whose knee angle is its
    tibia's rx (the flexion axis is perpendicular to the leg only with C M C⁻¹), shin swinging back and
    the body upright (order RX RY RZ)."""
    root = shared_data / "mocap" / "hdm05"
    for actor in HDM05_SUBJECTS:
        if (root / f"HDM_{actor}.asf").is_file():
            skeleton = read_asf(root / f"HDM_{actor}.asf")
            assert len(skeleton.names) == 31 + 7 and skeleton.width == 62
            femur = np.linalg.norm(skeleton.rest[skeleton.names.index("ltibia")] - skeleton.rest[skeleton.names.index("lfemur")])
            assert 0.35 < femur < 0.5  # metres: length 0.45 read as inches × 0.45
    motion = read_amc(root / "HDM_bd_squat1Reps_001_120.amc")
    rot, pos = motion.forward_kinematics()
    index = motion.names.index
    thigh = pos[:, index("ltibia")] - pos[:, index("lfemur")]
    shin = pos[:, index("lfoot")] - pos[:, index("ltibia")]
    cos = np.sum(thigh * shin, -1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
    flexion = np.degrees(motion.values[:, motion.skeleton.columns["ltibia"][0]])
    np.testing.assert_allclose(np.degrees(np.arccos(np.clip(cos, -1, 1))), np.abs(flexion), atol=1e-6)
    forward = rot[:, 0] @ np.array([0.0, 0.0, 1.0])
    bent = flexion > 60
    assert bent.sum() > 50 and (np.sum(shin * forward, -1)[bent] < 0).all()
    up = pos[:, index("head")] - pos[:, index("root")]
    assert (up[:, 1] / np.linalg.norm(up, axis=-1) > 0.9).all()
