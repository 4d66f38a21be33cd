"""Supported rigs (BVH, Acclaim ASF, DeepMimic) and how each maps onto SMPL's 24 joints.

A :class:`RigSpec` says, for every SMPL joint,

* ``points``: where the joint sits on the rig — a rig joint name, ``(a, b, w)`` = the point
  ``(1 - w) * a + w * b`` on the segment between two rig joints (how SMPL joints without a rig
  counterpart, e.g. a third spine joint, get a share of the rig's spine), or ``{joint: weight}``, an
  affine combination (weights sum to 1). The same points define the bone directions copied onto SMPL
  and the error measure, so they must be anatomically equivalent to the SMPL joints: SMPL's ``pelvis``
  is the midpoint of the two hip joints (our model's lies 1.5 cm from it; CMU's root ``Hips`` sits
  7–11 cm above it, at the lumbar spine), hence :func:`_mid_hip` on every rig;
* ``twist``: the rig joint whose frame gives the rotation about the bone (twist); its local
  ``forward`` axis points to the body's front (+Z) in the rig's T-pose, and for ankles/feet (bones that
  point forward) its local ``up`` axis points up (+Y).

Bone directions come from the ``points``, so rigs whose zero pose is not SMPL's T-pose (legs spread in
the cgspeed MotionBuilder rig, a bind pose in bone-local axes in iClone) align without per-joint rest
corrections; only the twist axes encode each rig's rest frames.

To add a rig: write a ``RigSpec`` with a ``signature`` of joint names unique to it, fill ``points`` and
``twist`` for all 24 SMPL joints (``head`` uses ``twist`` alone), and append it to :data:`RIGS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.body.skeleton import JOINT_NAMES
from hmr_flow.validation import UserInputError

Point = str | tuple[str, str, float] | dict[str, float]

_FWD_Z = (0.0, 0.0, 1.0)
_UP_Y = (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class RigSpec:
    """One BVH rig: detection, SMPL joint placement and twist frames (see the module docstring)."""

    name: str
    description: str
    signature: tuple[str, ...]
    points: dict[str, Point]
    twist: dict[str, str]
    forward: tuple[float, float, float] = _FWD_Z
    up: tuple[float, float, float] = _UP_Y
    #: SMPL joints the rig has no joint for, whose rotations therefore stay (nearly) constant: frames of
    #: such a rig are training data only (see :func:`data_tools.mocap.build.split_by_subject`)
    undriven: tuple[str, ...] = ()

    def __post_init__(self):
        for table in ("points", "twist"):
            missing = [n for n in JOINT_NAMES if n not in getattr(self, table)]
            if missing:
                raise ValueError(f"rig {self.name}: {table} lacks SMPL joints {missing}")
        for smpl, point in self.points.items():
            if isinstance(point, dict) and abs(sum(point.values()) - 1.0) > 1e-9:
                raise ValueError(f"rig {self.name}: weights of point {smpl!r} sum to {sum(point.values())}, not 1")

    def point_weights(self, smpl: str) -> dict[str, float]:
        """Point ``smpl`` as ``{rig joint: weight}`` (weights sum to 1)."""
        point = self.points[smpl]
        if isinstance(point, str):
            return {point: 1.0}
        if isinstance(point, tuple):
            a, b, w = point
            return {a: 1.0 - w, b: w} if a != b else {a: 1.0}
        return dict(point)

    def rig_joints(self) -> set[str]:
        """Every rig joint the spec refers to."""
        names = set(self.twist.values())
        for smpl in self.points:
            names.update(self.point_weights(smpl))
        return names

    def point_positions(self, names: list[str], positions: np.ndarray) -> np.ndarray:
        """SMPL joint positions ``(F, 24, 3)`` on the rig from rig joint positions ``(F, J, 3)``."""
        index = {n: i for i, n in enumerate(names)}
        out = np.empty(positions.shape[:1] + (24, 3))
        for j, smpl in enumerate(JOINT_NAMES):
            out[:, j] = sum(w * positions[:, index[name]] for name, w in self.point_weights(smpl).items())
        return out


def _mid_hip(left: str, right: str) -> dict[str, float]:
    """SMPL pelvis counterpart: the midpoint of the rig's two hip joints."""
    return {left: 0.5, right: 0.5}


def _sided(template: dict[str, Point | str], left: str, right: str) -> dict:
    """Expand ``{'{s}_knee': '{S}Leg'}`` style templates into left and right entries."""
    out = {}
    for key, value in template.items():
        for side, tag in (("left", left), ("right", right)):
            def fill(s: str) -> str:
                return s.format(S=tag)
            k = key.format(s=side)
            out[k] = fill(value) if isinstance(value, str) else (fill(value[0]), fill(value[1]), value[2])
    return out


CMU_MB31 = RigSpec(
    name="cmu_mb31",
    description="cgspeed 'MotionBuilder-friendly' CMU conversion (31 joints, T-pose at zero, legs spread)",
    signature=("Hips", "LHipJoint", "LowerBack", "Spine1", "Neck1", "LeftUpLeg", "LeftForeArm"),
    points={
        "pelvis": _mid_hip("LeftUpLeg", "RightUpLeg"),
        "spine1": "Spine", "spine2": "Spine1", "spine3": ("Spine1", "Neck1", 0.3),
        "neck": "Neck1", "head": "Head",
        **_sided({"{s}_hip": "{S}UpLeg", "{s}_knee": "{S}Leg", "{s}_ankle": "{S}Foot", "{s}_foot": "{S}ToeBase",
                  "{s}_collar": ("{S}Shoulder", "{S}Arm", 0.4), "{s}_shoulder": "{S}Arm",
                  "{s}_elbow": "{S}ForeArm", "{s}_wrist": "{S}Hand", "{s}_hand": "{S}HandIndex1"}, "Left", "Right"),
    },
    twist={
        "pelvis": "Hips", "spine1": "LowerBack", "spine2": "Spine", "spine3": "Neck", "neck": "Neck1",
        "head": "Head",
        **_sided({"{s}_hip": "{S}UpLeg", "{s}_knee": "{S}Leg", "{s}_ankle": "{S}Foot", "{s}_foot": "{S}ToeBase",
                  "{s}_collar": "{S}Shoulder", "{s}_shoulder": "{S}Arm", "{s}_elbow": "{S}ForeArm",
                  "{s}_wrist": "{S}Hand", "{s}_hand": "{S}Hand"}, "Left", "Right"),
    },
)

CMU_MB31_2010 = RigSpec(
    name="cmu_mb31_2010",
    description="cgspeed MotionBuilder-style CMU conversion, 2010 naming (LeftHip/LeftKnee/Chest2; arms down "
                "and legs spread at zero)",
    signature=("Hips", "LHipJoint", "lowerback", "Chest2", "lowerneck", "LeftHip", "LeftElbow"),
    points={
        "pelvis": _mid_hip("LeftHip", "RightHip"),
        "spine1": "Chest", "spine2": "Chest2", "spine3": ("Chest2", "Neck", 0.3),
        "neck": "Neck", "head": "Head",
        **_sided({"{s}_hip": "{S}Hip", "{s}_knee": "{S}Knee", "{s}_ankle": "{S}Ankle", "{s}_foot": "{S}Toe",
                  "{s}_collar": ("{S}Collar", "{S}Shoulder", 0.4), "{s}_shoulder": "{S}Shoulder",
                  "{s}_elbow": "{S}Elbow", "{s}_wrist": "{S}Wrist"}, "Left", "Right"),
        "left_hand": "LFingers", "right_hand": "RFingers",
    },
    twist={
        "pelvis": "Hips", "spine1": "lowerback", "spine2": "Chest", "spine3": "lowerneck", "neck": "Neck",
        "head": "Head",
        **_sided({"{s}_hip": "{S}Hip", "{s}_knee": "{S}Knee", "{s}_ankle": "{S}Ankle", "{s}_foot": "{S}Toe",
                  "{s}_collar": "{S}Collar", "{s}_shoulder": "{S}Shoulder", "{s}_elbow": "{S}Elbow"},
               "Left", "Right"),
        "left_wrist": "lhand", "right_wrist": "rhand", "left_hand": "lhand", "right_hand": "rhand",
    },
)

CMU_ASF31 = RigSpec(
    name="cmu_asf31",
    description="cgspeed MotionBuilder-style CMU conversion with the CMU ASF joint names (hip, lfemur, "
                "thorax, lhumerus ...; T-pose at zero, legs spread)",
    signature=("hip", "lhipjoint", "lfemur", "upperback", "thorax", "lhumerus", "lradius"),
    points={
        "pelvis": _mid_hip("lfemur", "rfemur"),
        "spine1": "upperback", "spine2": "thorax", "spine3": ("thorax", "upperneck", 0.3),
        "neck": "upperneck", "head": "head",
        **_sided({"{s}_hip": "{S}femur", "{s}_knee": "{S}tibia", "{s}_ankle": "{S}foot", "{s}_foot": "{S}toes",
                  "{s}_collar": ("{S}clavicle", "{S}humerus", 0.4), "{s}_shoulder": "{S}humerus",
                  "{s}_elbow": "{S}radius", "{s}_wrist": "{S}wrist", "{s}_hand": "{S}fingers"}, "l", "r"),
    },
    twist={
        "pelvis": "hip", "spine1": "lowerback", "spine2": "upperback", "spine3": "lowerneck", "neck": "upperneck",
        "head": "head",
        **_sided({"{s}_hip": "{S}femur", "{s}_knee": "{S}tibia", "{s}_ankle": "{S}foot", "{s}_foot": "{S}toes",
                  "{s}_collar": "{S}clavicle", "{s}_shoulder": "{S}humerus", "{s}_elbow": "{S}radius",
                  "{s}_wrist": "{S}hand", "{s}_hand": "{S}hand"}, "l", "r"),
    },
)

ASF_CMU31 = RigSpec(
    name="asf_cmu31",
    description="Acclaim ASF/AMC skeleton with CMU's bone names (CMU's own files, HDM05; root, lhipjoint, lfemur, "
                "thorax, lhumerus ...; joints at the bones' starts, T-pose at zero, legs spread)",
    signature=("root", "lhipjoint", "lfemur", "upperback", "thorax", "lowerneck", "lhumerus", "lwrist"),
    # the lradius bone ends mid-forearm and lwrist (the forearm's twist) at the wrist, so the wrist is
    # where lhand starts and the elbow takes its twist from lwrist. HDM05's humeri start 0.41–0.51 m
    # apart, wider than shoulder joint centres, so SMPL's shoulder sits 15 % of the clavicle
    # medial of it, and SMPL's head joint 30 % up the ASF head bone (chosen on the first take of each
    # HDM05 actor and class, 44 clips: median error 1.6 cm vs 1.8, p95 3.8 vs 4.5)
    points={
        "pelvis": _mid_hip("lfemur", "rfemur"),
        "spine1": "upperback", "spine2": "thorax", "spine3": ("thorax", "lowerneck", 0.3),
        "neck": "upperneck", "head": ("head", "head_end", 0.3),
        **_sided({"{s}_hip": "{S}femur", "{s}_knee": "{S}tibia", "{s}_ankle": "{S}foot", "{s}_foot": "{S}toes",
                  "{s}_collar": ("{S}clavicle", "{S}humerus", 0.4), "{s}_shoulder": ("{S}clavicle", "{S}humerus", 0.85),
                  "{s}_elbow": "{S}radius", "{s}_wrist": "{S}hand", "{s}_hand": "{S}fingers"}, "l", "r"),
    },
    twist={
        "pelvis": "root", "spine1": "upperback", "spine2": "thorax", "spine3": "thorax", "neck": "upperneck",
        "head": "head",
        **_sided({"{s}_hip": "{S}femur", "{s}_knee": "{S}tibia", "{s}_ankle": "{S}foot", "{s}_foot": "{S}toes",
                  "{s}_collar": "{S}clavicle", "{s}_shoulder": "{S}humerus", "{s}_elbow": "{S}wrist",
                  "{s}_wrist": "{S}hand", "{s}_hand": "{S}hand"}, "l", "r"),
    },
)

CMU_DAZ43 = RigSpec(
    name="cmu_daz43",
    description="cgspeed 'Daz-friendly' CMU conversion (43 joints, T-pose at zero)",
    signature=("hip", "abdomen", "chest", "lCollar", "lShldr", "lThigh", "rShin"),
    points={
        "pelvis": _mid_hip("lThigh", "rThigh"),
        "spine1": "abdomen", "spine2": "chest",
        "spine3": ("chest", "neck", 0.25), "neck": "neck", "head": "head",
        **_sided({"{s}_hip": "{S}Thigh", "{s}_knee": "{S}Shin", "{s}_ankle": "{S}Foot", "{s}_foot": "{S}Foot_end",
                  "{s}_collar": ("{S}Collar", "{S}Shldr", 0.5), "{s}_shoulder": "{S}Shldr",
                  "{s}_elbow": "{S}ForeArm", "{s}_wrist": "{S}Hand", "{s}_hand": "{S}Mid1"}, "l", "r"),
    },
    twist={
        "pelvis": "hip", "spine1": "abdomen", "spine2": "chest", "spine3": "chest", "neck": "neck", "head": "head",
        **_sided({"{s}_hip": "{S}Thigh", "{s}_knee": "{S}Shin", "{s}_ankle": "{S}Foot", "{s}_foot": "{S}Foot",
                  "{s}_collar": "{S}Collar", "{s}_shoulder": "{S}Shldr", "{s}_elbow": "{S}ForeArm",
                  "{s}_wrist": "{S}Hand", "{s}_hand": "{S}Hand"}, "l", "r"),
    },
)

CC_BASE = RigSpec(
    name="cmu_iclone",
    description="Reallusion iClone / Character Creator CC_Base rig (bone-local axes: +Y along the bone, "
                "+Z to the front, feet +Z up)",
    signature=("CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_Waist", "CC_Base_Spine02", "CC_Base_L_Upperarm"),
    points={
        "pelvis": _mid_hip("CC_Base_L_Thigh", "CC_Base_R_Thigh"),
        "spine1": "CC_Base_Spine01",
        "spine2": ("CC_Base_Spine01", "CC_Base_Spine02", 0.75), "spine3": ("CC_Base_Spine02", "CC_Base_NeckTwist01", 0.2),
        "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        **_sided({"{s}_hip": "CC_Base_{S}_Thigh", "{s}_knee": "CC_Base_{S}_Calf", "{s}_ankle": "CC_Base_{S}_Foot",
                  "{s}_foot": "CC_Base_{S}_ToeBase", "{s}_collar": ("CC_Base_{S}_Clavicle", "CC_Base_{S}_Upperarm", 0.4),
                  "{s}_shoulder": "CC_Base_{S}_Upperarm", "{s}_elbow": "CC_Base_{S}_Forearm",
                  "{s}_wrist": "CC_Base_{S}_Hand", "{s}_hand": "CC_Base_{S}_Mid1"}, "L", "R"),
    },
    twist={
        "pelvis": "CC_Base_Hip", "spine1": "CC_Base_Waist", "spine2": "CC_Base_Spine01", "spine3": "CC_Base_Spine02",
        "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        **_sided({"{s}_hip": "CC_Base_{S}_Thigh", "{s}_knee": "CC_Base_{S}_Calf", "{s}_ankle": "CC_Base_{S}_Foot",
                  "{s}_foot": "CC_Base_{S}_ToeBase", "{s}_collar": "CC_Base_{S}_Clavicle",
                  "{s}_shoulder": "CC_Base_{S}_Upperarm", "{s}_elbow": "CC_Base_{S}_Forearm",
                  "{s}_wrist": "CC_Base_{S}_Hand", "{s}_hand": "CC_Base_{S}_Hand"}, "L", "R"),
    },
    up=_FWD_Z,
)

DEEPMIMIC = RigSpec(
    name="cmu_deepmimic",
    description="DeepMimic humanoid3d (15 joints: spherical hips, ankles, shoulders, chest, neck; revolute knees "
                "and elbows; arms down at zero, facing +X) with the end points of data_tools.mocap.deepmimic",
    signature=("root", "chest", "neck", "right_hip", "right_knee", "left_elbow", "head_end"),
    points={
        "pelvis": _mid_hip("left_hip", "right_hip"),
        "spine1": ("root", "chest", 0.45), "spine2": "chest", "spine3": ("chest", "neck", 0.3),
        # the humanoid's neck joint sits at shoulder height, SMPL's at the top of the trunk (placement
        # chosen on clips 07_03, 11_01, 127_03: p95 error 2.8 cm vs 5.6 cm at the neck joint itself)
        "neck": ("chest", "neck", 1.3), "head": "head_end",
        **_sided({"{s}_hip": "{S}_hip", "{s}_knee": "{S}_knee", "{s}_ankle": "{S}_ankle", "{s}_foot": "{S}_toe_end",
                  "{s}_collar": ("neck", "{S}_shoulder", 0.45), "{s}_shoulder": "{S}_shoulder",
                  "{s}_elbow": "{S}_elbow", "{s}_wrist": "{S}_wrist", "{s}_hand": "{S}_hand_end"}, "left", "right"),
    },
    twist={
        "pelvis": "root", "spine1": "root", "spine2": "chest", "spine3": "chest", "neck": "neck", "head": "neck",
        **_sided({"{s}_hip": "{S}_hip", "{s}_knee": "{S}_knee", "{s}_ankle": "{S}_ankle", "{s}_foot": "{S}_ankle",
                  "{s}_collar": "chest", "{s}_shoulder": "{S}_shoulder", "{s}_elbow": "{S}_elbow",
                  "{s}_wrist": "{S}_wrist", "{s}_hand": "{S}_wrist"}, "left", "right"),
    },
    forward=(1.0, 0.0, 0.0),
    # no lumbar, upper-spine or wrist joints: those SMPL rotations stay within 1° of rest in every frame
    undriven=("spine1", "spine3", "left_wrist", "right_wrist"),
)

#: Supported rigs, in detection order.
RIGS: tuple[RigSpec, ...] = (CMU_MB31, CMU_MB31_2010, CMU_ASF31, ASF_CMU31, CMU_DAZ43, CC_BASE, DEEPMIMIC)


class UnknownRigError(UserInputError):
    """No supported rig matches a file's joint names."""


def detect_rig(names: list[str], path: str = "<bvh>") -> RigSpec:
    """The rig whose ``signature`` joints are all in ``names``; :class:`UnknownRigError` otherwise."""
    present = set(names)
    for rig in RIGS:
        if present.issuperset(rig.signature):
            missing = sorted(rig.rig_joints() - present)
            if missing:
                raise UnknownRigError(f"{path}: looks like rig {rig.name} but lacks joints {missing}")
            return rig
    supported = "; ".join(f"{r.name} ({r.description}; needs {', '.join(r.signature)})" for r in RIGS)
    raise UnknownRigError(
        f"{path}: unknown BVH rig (joints: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}). "
        f"Supported rigs: {supported}. To add a rig, define a RigSpec in data_tools/mocap/rigs.py "
        f"(signature joint names, SMPL joint points and twist joints) and append it to RIGS."
    )
