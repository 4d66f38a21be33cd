"""How MakeHuman's ``game_engine`` rig maps onto SMPL's 24 joints.

Every SMPL joint sits at the *head* of one game_engine bone (its ``cube_name`` joint cube marks the
anatomical centre). Skinning weights of a bone go to the SMPL joint that rotates it: finger bones
(index/middle/ring/pinky) go to ``*_hand`` (SMPL's knuckle joint), thumb bones to ``*_wrist``
(SMPL has no thumb joint; the thumb follows the palm), ``Root`` to the pelvis.
"""

from __future__ import annotations

import re

from hmr_flow.body.skeleton import JOINT_NAMES

#: SMPL joint (subject's side) → game_engine bone whose head is that joint ("{s}" = l/r).
_HEAD_BONES = {
    "pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03",
    "neck": "neck_01", "head": "head", "hip": "thigh_{s}", "knee": "calf_{s}", "ankle": "foot_{s}",
    "foot": "ball_{s}", "collar": "clavicle_{s}", "shoulder": "upperarm_{s}", "elbow": "lowerarm_{s}",
    "wrist": "hand_{s}", "hand": "middle_01_{s}",
}


def joint_bone(joint: str) -> str:
    """game_engine bone whose head cube is SMPL joint ``joint``."""
    for side, s in (("left_", "l"), ("right_", "r")):
        if joint.startswith(side):
            return _HEAD_BONES[joint[len(side):]].format(s=s)
    return _HEAD_BONES[joint]


def bone_joint(bone: str) -> str:
    """SMPL joint that receives the skinning weights of game_engine ``bone``."""
    if bone == "Root":
        return "pelvis"
    finger = re.fullmatch(r"(thumb|index|middle|ring|pinky)_0[1-3]_([lr])", bone)
    if finger:
        side = "left" if finger.group(2) == "l" else "right"
        return f"{side}_wrist" if finger.group(1) == "thumb" else f"{side}_hand"
    for joint in JOINT_NAMES:
        if joint_bone(joint) == bone:
            return joint
    raise KeyError(f"game_engine bone {bone!r} has no SMPL joint")
