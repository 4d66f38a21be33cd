"""Acclaim ASF/AMC files (CMU's native mocap format, HDM05's, Vicon exports): reader and forward kinematics.

An ASF file describes a skeleton, an AMC file the motion of one, frame after frame. Conventions (column
vectors; the world frame is the skeleton's rest pose, Y up; CMU's and HDM05's subjects face +Z with
their left at +X):

* ``:units``: ``length L`` — lengths and root positions are inches × ``L`` (CMU's and HDM05's
  ``length 0.45``: metres = value / 0.45 × 0.0254; no ``length``: inches); ``angle deg|rad`` (default
  degrees); ``mass`` is not used.
* ``:root``: ``order`` names the root's AMC values (``TX TY TZ RX RY RZ``, any order); ``position`` is
  added to the root's translation; ``orientation`` holds the angles of the root's frame ``C`` in the
  order that ``axis`` names.
* a bone: ``direction`` (unit vector, rest pose) × ``length`` runs from its start — the end of its
  parent bone, or the root's position for a bone hanging from the root — to its end. ``axis a b c XYZ``
  is its frame ``C``: rotations about the fixed axes in the order of the letters, the i-th angle
  about the i-th letter (``XYZ``: ``C = Rz(c) Ry(b) Rx(a)``). ``dof`` lists its AMC values (``rx ry
  rz``, any subset and order); they rotate the bone in its own frame, again about fixed axes with the
  first listed first (``dof rx ry rz``: ``M = Rz(rz) Ry(ry) Rx(rx)``). ``limits`` holds one ``(lo hi)``
  per dof (read, not enforced).
* posing: bone ``b`` turns by ``G_b = G_parent · C_b M_b C_b⁻¹`` from the rest pose (the root by
  ``C M C⁻¹``), and ends at its start + ``length · G_b · direction``. This is CMU's mocap player and the
  Acclaim readers derived from it (e.g. the CMU course code's ``amc_to_matrix``), where a bone's
  direction is first taken into its own frame (``C⁻¹ · direction``) and frames are chained through
  ``C_parent⁻¹ C_child``: the same product.

The joints of :class:`AmcMotion`, named as BVH exports of these skeletons name them: ``root``; one joint
per bone at the bone's *start*, turning with the bone (``lfemur`` is the hip, ``ltibia`` the knee,
``lhand`` the wrist); an end site ``<bone>_end`` at the end of each bone without children
(``head_end``: the top of the head). Positions are metres.

An AMC file: ``#`` comments and the keywords ``:FULLY-SPECIFIED`` and ``:DEGREES`` / ``:RADIANS``
(default: the ASF's angle unit), then per frame a line with its number (counting up by one) and one
line ``<bone> <values>`` per bone with dofs (the root: its ``order`` values). AMC files carry no frame
rate: :data:`DEFAULT_FPS` (CMU's and HDM05's) unless the caller says otherwise. Both files are read as
Latin-1 (HDM05's AMC headers hold a Latin-1 byte); a file with NUL bytes is not a text file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import roma
import torch

from data_tools.mocap.bvh import MAX_FRAMES, MAX_POSITION, MAX_ROTATION_DEG, MocapFileError
from hmr_flow.geometry.kinematics import forward_kinematics

#: AMC files state no frame rate; CMU's and HDM05's are captured at 120 fps.
DEFAULT_FPS = 120.0
#: Metres per inch: ASF lengths are inches × the ``:units`` ``length`` factor.
INCH = 0.0254
#: Sections of an ASF file; ``:version``, ``:name``, ``:documentation`` and ``:skin`` are not used.
SECTIONS = (":version", ":name", ":units", ":documentation", ":root", ":bonedata", ":hierarchy", ":skin")
#: Fields of a bone block (``id``, ``bodymass`` and ``cofmass`` are not used).
BONE_FIELDS = ("id", "name", "direction", "length", "axis", "dof", "limits", "bodymass", "cofmass")
_ROOT_VALUES = ("TX", "TY", "TZ", "RX", "RY", "RZ")
_ROTATION_DOFS = ("rx", "ry", "rz")
_ANGLE_UNITS = {"deg": math.pi / 180.0, "rad": 1.0}
_AMC_ANGLES = {":DEGREES": math.pi / 180.0, ":RADIANS": 1.0}
_LIMIT = re.compile(r"\(\s*(\S+)\s+(\S+)\s*\)")


class AsfAmcError(MocapFileError):
    """A malformed ASF or AMC file; the message names the file, the line and what was expected."""


def _read_lines(path: Path, kind: str) -> list[str]:
    """The file's lines (Latin-1; ``\\r`` removed by the callers' ``split``), refusing binary files."""
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file not found: {path}")
    data = path.read_bytes()
    nul = data.find(b"\0")
    if nul >= 0:
        raise AsfAmcError(path, data.count(b"\n", 0, nul) + 1, f"not a text {kind} file (NUL byte at offset {nul})")
    return data.decode("latin-1").split("\n")


def _entries(lines: list[str]) -> list[tuple[int, list[str]]]:
    """``(line number, tokens)`` of every line that is not empty or a ``#`` comment."""
    out = []
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        if tokens and not tokens[0].startswith("#"):
            out.append((number, tokens))
    return out


def _shown(tokens: list[str]) -> str:
    """Tokens for an error message (quoted, control and non-ASCII characters escaped, at most 60)."""
    text = ascii(" ".join(tokens))
    return text if len(text) <= 60 else text[:57] + "...'"


def _numbers(path: Path, line: int, tokens: list[str], count: int, what: str) -> list[float]:
    """``count`` finite numbers, or an error naming the line."""
    if len(tokens) != count:
        raise AsfAmcError(path, line, f"expected {count} numbers for {what}, got {len(tokens)}: {_shown(tokens)}")
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise AsfAmcError(path, line, f"expected numbers for {what}, got {_shown(tokens)}") from None
    if not all(math.isfinite(v) for v in values):
        raise AsfAmcError(path, line, f"non-finite value in {what}: {_shown(tokens)}")
    return values


def _frame_rotation(path: Path, line: int, order: str, angles: list[float], what: str) -> np.ndarray:
    """``(3, 3)`` rotation about the fixed axes in ``order`` (``XYZ``: X first), the i-th angle (radians)
    about the i-th letter."""
    if sorted(order.upper()) != ["X", "Y", "Z"]:
        raise AsfAmcError(path, line, f"{what}: expected an axis order such as XYZ, got {order!r}")
    return roma.euler_to_rotmat(order.lower(), torch.tensor(angles, dtype=torch.float64)).numpy()


@dataclass(frozen=True)
class AsfSkeleton:
    """A parsed ASF skeleton, as joints (see the module docstring).

    Attributes:
        path: the ASF file.
        names: ``J`` joint names: ``root``, the bones (parents before children), end sites ``<bone>_end``.
        parents: ``(J,)`` parent joint index, ``-1`` for the root.
        rest: ``(J, 3)`` joint positions with every value zero (the root at its ``position``), metres.
        frames: ``(J, 3, 3)`` each joint's frame ``C`` (identity for end sites).
        dofs: per joint, the names of its AMC values in file order (the root's ``order`` lower-cased,
            ``tx`` ... ``rz``; a bone's ``dof``; empty for bones without dofs and end sites).
        limits: per joint, ``(low, high)`` radians per dof (``±inf`` where open; empty for the root).
        angle: radians per angle unit of the ASF (``:units angle``).
        metres: metres per length unit of the ASF (``:units length``).
    """

    path: str
    names: tuple[str, ...]
    parents: np.ndarray
    rest: np.ndarray
    frames: np.ndarray
    dofs: tuple[tuple[str, ...], ...]
    limits: tuple[tuple[tuple[float, float], ...], ...]
    angle: float
    metres: float

    @cached_property
    def columns(self) -> dict[str, tuple[int, int]]:
        """``{joint: (first column, count)}`` of the AMC values of every joint with dofs."""
        out, start = {}, 0
        for name, dofs in zip(self.names, self.dofs):
            if dofs:
                out[name] = (start, len(dofs))
                start += len(dofs)
        return out

    @property
    def width(self) -> int:
        """AMC values per frame."""
        return sum(len(d) for d in self.dofs)


@dataclass
class _Bone:
    line: int
    name: str | None = None
    direction: np.ndarray | None = None
    length: float | None = None
    frame: np.ndarray | None = None
    dofs: tuple[str, ...] = ()
    limits: tuple[tuple[float, float], ...] = ()


def _sections(path: Path, entries: list[tuple[int, list[str]]]) -> dict[str, tuple[int, list]]:
    """``{keyword: (line, entries of its body)}``; unknown or repeated keywords are errors."""
    found: dict[str, tuple[int, list]] = {}
    key = None
    for line, tokens in entries:
        if tokens[0].startswith(":"):
            key = tokens[0].lower()
            if key not in SECTIONS:
                raise AsfAmcError(path, line, f"unknown keyword {tokens[0]!r} (expected one of {', '.join(SECTIONS)})")
            if key in found:
                raise AsfAmcError(path, line, f"second {key} section (the first is at line {found[key][0]})")
            found[key] = (line, [])
        elif key is None:
            raise AsfAmcError(path, line, f"expected a section keyword such as :units or :root, got {_shown(tokens)}")
        else:
            found[key][1].append((line, tokens))
    for key in (":root", ":bonedata", ":hierarchy"):
        if key not in found:
            raise AsfAmcError(path, None, f"no {key} section")
    return found


def _units(path: Path, body: list) -> tuple[float, float]:
    """Radians per angle unit and metres per length unit from the ``:units`` body."""
    angle, metres = _ANGLE_UNITS["deg"], INCH
    for line, tokens in body:
        key = tokens[0].lower()
        if len(tokens) != 2 or key not in ("mass", "length", "angle"):
            raise AsfAmcError(path, line, f"expected 'mass <m>', 'length <l>' or 'angle deg|rad' in :units, got "
                                          f"{_shown(tokens)}")
        if key == "angle":
            if tokens[1].lower() not in _ANGLE_UNITS:
                raise AsfAmcError(path, line, f"angle unit must be deg or rad, got {tokens[1]!r}")
            angle = _ANGLE_UNITS[tokens[1].lower()]
        elif key == "length":
            factor = _numbers(path, line, tokens[1:], 1, "the length unit")[0]
            if factor <= 0:
                raise AsfAmcError(path, line, f"length unit must be positive, got {factor:g}")
            metres = INCH / factor
    return angle, metres


def _root(path: Path, line: int, body: list, angle: float, metres: float) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The root's AMC value names (lower-case), frame ``C (3, 3)`` and position ``(3,)`` metres."""
    fields: dict[str, tuple[int, list[str]]] = {}
    for ln, tokens in body:
        key = tokens[0].lower()
        if key not in ("order", "axis", "position", "orientation"):
            raise AsfAmcError(path, ln, f"unknown :root field {tokens[0]!r} (expected order, axis, position, "
                                        f"orientation)")
        fields[key] = (ln, tokens[1:])
    if "order" not in fields:
        raise AsfAmcError(path, line, ":root has no 'order' line (e.g. order TX TY TZ RX RY RZ)")
    ln, order = fields["order"]
    upper = [t.upper() for t in order]
    if not order or any(t not in _ROOT_VALUES for t in upper) or len(set(upper)) != len(upper):
        raise AsfAmcError(path, ln, f"root order must list distinct values of {' '.join(_ROOT_VALUES)}, got "
                                    f"{_shown(order)}")
    ln, axis = fields.get("axis", (line, ["XYZ"]))
    if len(axis) != 1:
        raise AsfAmcError(path, ln, f"expected 'axis <order>' (e.g. axis XYZ) in :root, got {_shown(axis)}")
    ln, angles = fields.get("orientation", (line, ["0", "0", "0"]))
    frame = _frame_rotation(path, ln, axis[0], [angle * a for a in _numbers(path, ln, angles, 3, "root orientation")],
                            "root axis")
    ln, position = fields.get("position", (line, ["0", "0", "0"]))
    position = metres * np.array(_numbers(path, ln, position, 3, "root position"))
    return tuple(t.lower() for t in upper), frame, position


def _bone_field(path: Path, bone: _Bone, line: int, tokens: list[str], angle: float, metres: float) -> None:
    """Fill one field of ``bone`` from its line (``limits`` continuation lines included)."""
    key, rest = tokens[0].lower(), tokens[1:]
    if key == "name":
        if len(rest) != 1:
            raise AsfAmcError(path, line, f"expected 'name <bone>', got {_shown(tokens)}")
        bone.name = rest[0]
    elif key == "direction":
        direction = np.array(_numbers(path, line, rest, 3, "direction"))
        if np.linalg.norm(direction) < 1e-9:
            raise AsfAmcError(path, line, "direction is the zero vector")
        bone.direction = direction / np.linalg.norm(direction)
    elif key == "length":
        length = _numbers(path, line, rest, 1, "length")[0]
        if length < 0:
            raise AsfAmcError(path, line, f"length must not be negative, got {length:g}")
        bone.length = metres * length
    elif key == "axis":
        if len(rest) != 4:
            raise AsfAmcError(path, line, f"expected 'axis <a> <b> <c> <order>' (e.g. axis 0 0 20 XYZ), got "
                                          f"{_shown(tokens)}")
        angles = [angle * a for a in _numbers(path, line, rest[:3], 3, "axis")]
        bone.frame = _frame_rotation(path, line, rest[3], angles, "axis")
    elif key == "dof":
        dofs = tuple(t.lower() for t in rest)
        bad = [t for t in dofs if t not in _ROTATION_DOFS]
        if bad or not dofs or len(set(dofs)) != len(dofs):
            problem = ("translation dofs are not supported" if bad and bad[0] in ("tx", "ty", "tz", "l")
                       else "expected distinct rx, ry, rz")
            raise AsfAmcError(path, line, f"dof {_shown(rest)}: {problem}")
        bone.dofs = dofs
    elif key == "limits" or key.startswith("("):
        text = " ".join(rest if key == "limits" else tokens)
        pairs = _LIMIT.findall(text)
        if not pairs or _LIMIT.sub("", text).strip():
            raise AsfAmcError(path, line, f"expected limits as '(<low> <high>)', got {_shown(tokens)}")
        try:
            limits = tuple((angle * float(lo), angle * float(hi)) for lo, hi in pairs)
        except ValueError:
            raise AsfAmcError(path, line, f"expected numbers in limits, got {_shown(tokens)}") from None
        bone.limits += limits
    elif key not in BONE_FIELDS:
        raise AsfAmcError(path, line, f"unknown bone field {tokens[0]!r} (expected one of {', '.join(BONE_FIELDS)})")


def _bones(path: Path, body: list, angle: float, metres: float) -> dict[str, _Bone]:
    """The ``begin … end`` blocks of ``:bonedata``, by name, each checked complete."""
    bones: dict[str, _Bone] = {}
    bone = None
    for line, tokens in body:
        word = tokens[0].lower()
        if word == "begin" and bone is None:
            bone = _Bone(line)
        elif bone is None:
            raise AsfAmcError(path, line, f"expected 'begin' to open a bone, got {_shown(tokens)}")
        elif word == "end":
            for field in ("name", "direction", "length", "frame"):
                if getattr(bone, field) is None:
                    raise AsfAmcError(path, line, f"bone {bone.name or '(unnamed)'} (begun at line {bone.line}) has "
                                                  f"no {'axis' if field == 'frame' else field}")
            if bone.limits and len(bone.limits) != len(bone.dofs):
                raise AsfAmcError(path, line, f"bone {bone.name!r} has {len(bone.dofs)} dofs but {len(bone.limits)} "
                                              f"limits")
            if bone.name in bones or bone.name.lower() == "root":
                raise AsfAmcError(path, bone.line, f"bone name {bone.name!r} is "
                                                   f"{'reserved' if bone.name.lower() == 'root' else 'used twice'}")
            bones[bone.name] = bone
            bone = None
        elif word == "begin":
            raise AsfAmcError(path, line, f"'begin' inside bone {bone.name or '(unnamed)'} (begun at line {bone.line}); "
                                          f"a bone block ends with 'end'")
        else:
            _bone_field(path, bone, line, tokens, angle, metres)
    if bone is not None:
        raise AsfAmcError(path, bone.line, f"bone {bone.name or '(unnamed)'} is not closed by 'end'")
    return bones


def _hierarchy(path: Path, line: int, body: list, bones: dict[str, _Bone]) -> dict[str, str]:
    """``{bone: parent}`` from the ``:hierarchy`` lines; every bone placed once, all reachable from root."""
    parent_of: dict[str, str] = {}
    rows = [(ln, t) for ln, t in body if t[0].lower() not in ("begin", "end")]
    for ln, tokens in rows:
        parent, children = tokens[0], tokens[1:]
        for name in (parent, *children):
            if name != "root" and name not in bones:
                raise AsfAmcError(path, ln, f"hierarchy names bone {name!r}, which :bonedata does not define")
        for child in children:
            if child == "root" or child in parent_of:
                raise AsfAmcError(path, ln, f"bone {child!r} is given a parent twice (or root is a child)")
            parent_of[child] = parent
    missing = [name for name in bones if name not in parent_of]
    if missing:
        raise AsfAmcError(path, bones[missing[0]].line, f"bone {missing[0]!r} is not in the :hierarchy (line {line})")
    for name in parent_of:  # every chain of parents must reach the root (no cycles)
        seen, node = set(), name
        while node != "root":
            if node in seen:
                raise AsfAmcError(path, line, f"the :hierarchy has a cycle through bone {name!r}")
            seen.add(node)
            node = parent_of[node]
    return parent_of


def read_asf(path: str | Path) -> AsfSkeleton:
    """Parse an ASF skeleton (module docstring).

    Raises:
        FileNotFoundError: no such file.
        AsfAmcError: malformed (``file:line: problem``): unknown keywords or fields, bad numbers, bones
        missing from (or unknown to) the hierarchy, dof and limit counts that differ, ...
    """
    path = Path(path)
    sections = _sections(path, _entries(_read_lines(path, "ASF")))
    angle, metres = _units(path, sections.get(":units", (0, []))[1])
    root_dofs, root_frame, position = _root(path, *sections[":root"], angle, metres)
    bones = _bones(path, sections[":bonedata"][1], angle, metres)
    parent_of = _hierarchy(path, *sections[":hierarchy"], bones)
    order = ["root"]  # parents before children, children in hierarchy order
    children: dict[str, list[str]] = {}
    for child, parent in parent_of.items():
        children.setdefault(parent, []).append(child)
    for name in order:
        order.extend(children.get(name, []))
    names, parents, rest, frames = ["root"], [-1], [position], [root_frame]
    dofs, limits = [root_dofs], [()]
    ends = {}  # bone -> its end point
    for name in order[1:]:
        bone, parent = bones[name], parent_of[name]
        start = rest[0] if parent == "root" else ends[parent]
        names.append(name)
        parents.append(names.index(parent))
        rest.append(start)
        frames.append(bone.frame)
        dofs.append(bone.dofs)
        limits.append(bone.limits)
        ends[name] = start + bone.length * bone.direction
    for name in order[1:]:
        if name not in children:
            names.append(f"{name}_end")
            parents.append(names.index(name))
            rest.append(ends[name])
            frames.append(np.eye(3))
            dofs.append(())
            limits.append(())
    return AsfSkeleton(str(path), tuple(names), np.asarray(parents), np.asarray(rest), np.asarray(frames),
                       tuple(dofs), tuple(limits), angle, metres)


def find_asf(clip: str | Path) -> Path:
    """The skeleton beside an AMC clip: ``HDM_<actor>.asf`` for HDM05's ``HDM_<actor>_<class>_<take>_120.amc``,
    ``<subject>.asf`` for CMU's ``<subject>_<take>.amc``, else ``<clip stem>.asf``."""
    clip = Path(clip)
    names = []
    hdm = re.match(r"(HDM_[A-Za-z]+)_", clip.stem)
    cmu = re.fullmatch(r"(\d+)_\d+", clip.stem)
    if hdm:
        names.append(f"{hdm.group(1)}.asf")
    if cmu:
        names.append(f"{cmu.group(1)}.asf")
    names.append(f"{clip.stem}.asf")
    for name in names:
        if (clip.parent / name).is_file():
            return clip.parent / name
    raise AsfAmcError(clip, None, f"no skeleton beside the clip (looked for {', '.join(names)}); pass --asf FILE")


@dataclass
class AmcMotion:
    """One AMC clip on its ASF skeleton: ``values (F, C)`` per frame, the skeleton's ``dofs`` in joint order
    (radians for rotations, metres for the root's translation), ``fps`` (not in the file).

    Offers what :func:`data_tools.mocap.convert.convert_clip` needs of a clip (``names``, ``parents``,
    ``num_frames``, ``fps``, ``forward_kinematics``, ``rest_positions``), in the conventions of
    :class:`~data_tools.mocap.bvh.BvhMotion`.
    """

    path: str
    skeleton: AsfSkeleton
    values: np.ndarray
    fps: float = DEFAULT_FPS

    @property
    def names(self) -> list[str]:
        return list(self.skeleton.names)

    @property
    def parents(self) -> np.ndarray:
        return self.skeleton.parents

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    def local_transforms(self, frames: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(F, J, 3, 3)`` local rotations ``C M C⁻¹`` (identity for joints without rotation dofs) and
        ``(F, 3)`` the root's translation (metres, without ``position``)."""
        values = self.values if frames is None else self.values[frames]
        rot = np.broadcast_to(np.eye(3), (values.shape[0], len(self.skeleton.names), 3, 3)).copy()
        transl = np.zeros((values.shape[0], 3))
        for j, dofs in enumerate(self.skeleton.dofs):
            if not dofs:
                continue
            start = self.skeleton.columns[self.skeleton.names[j]][0]
            axes = [(start + k, d[1]) for k, d in enumerate(dofs) if d[0] == "r"]
            for k, d in enumerate(dofs):
                if d[0] == "t":
                    transl[:, "xyz".index(d[1])] = values[:, start + k]
            if axes:
                angles = torch.from_numpy(np.ascontiguousarray(values[:, [c for c, _ in axes]]))
                turn = roma.euler_to_rotmat("".join(a for _, a in axes), angles).numpy()
                frame = self.skeleton.frames[j]
                rot[:, j] = frame @ turn @ frame.T
        return rot, transl

    def forward_kinematics(self, frames: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Global joint rotations ``(F, J, 3, 3)`` (relative to the rest pose) and positions ``(F, J, 3)``
        (metres, world frame)."""
        rot, transl = self.local_transforms(frames)
        rest = torch.from_numpy(self.skeleton.rest[None] + transl[:, None])
        joints, world = forward_kinematics(torch.from_numpy(rot), rest, self.skeleton.parents.tolist())
        return world.numpy(), joints.numpy()

    def rest_positions(self) -> np.ndarray:
        """``(J, 3)`` joint positions with every value zero (the skeleton's rest pose), metres."""
        return self.skeleton.rest.copy()


def _amc_header(path: Path, lines: list[str], angle: float) -> tuple[int, float]:
    """Index of the first data line and radians per AMC angle unit (keywords before the first frame)."""
    for index, line in enumerate(lines):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#") or tokens[0].upper() == ":FULLY-SPECIFIED":
            continue
        if tokens[0].upper() in _AMC_ANGLES:
            angle = _AMC_ANGLES[tokens[0].upper()]
        elif tokens[0].startswith(":"):
            raise AsfAmcError(path, index + 1, f"unknown keyword {tokens[0]!r} (expected :FULLY-SPECIFIED, :DEGREES "
                                               f"or :RADIANS)")
        else:
            return index, angle
    raise AsfAmcError(path, len(lines), "no frames (expected a frame number after the header)")


def _amc_rows(path: Path, lines: list[str], first: int, skeleton: AsfSkeleton) -> list[list[str]]:
    """Per frame, the ``C`` value strings in skeleton column order; structural errors name the line."""
    columns, names = skeleton.columns, set(skeleton.names)
    rows: list[list[str]] = []
    row, seen, start_line, number = None, set(), 0, None

    def close(line: int, at_end: bool) -> None:
        if len(seen) != len(columns):
            missing = [n for n in columns if n not in seen]
            where = "the file ends inside" if at_end else "incomplete"
            raise AsfAmcError(path, line, f"frame {number} (line {start_line}) lacks bones {missing}: {where} "
                                          f"frame{' (truncated file?)' if at_end else ''}")
        rows.append(row)

    for index in range(first, len(lines)):
        tokens = lines[index].split()
        if not tokens or tokens[0].startswith("#"):
            continue
        line = index + 1
        if len(tokens) == 1 and tokens[0].isdigit():
            if row is not None:
                close(start_line, at_end=False)
            if number is not None and int(tokens[0]) != number + 1:
                raise AsfAmcError(path, line, f"frame number {int(tokens[0])} follows frame {number}; frames must "
                                              f"count up by one")
            if len(rows) >= MAX_FRAMES:
                raise AsfAmcError(path, line, f"more than {MAX_FRAMES} frames")
            number, start_line, row, seen = int(tokens[0]), line, [""] * skeleton.width, set()
            continue
        if row is None:
            raise AsfAmcError(path, line, f"expected a frame number, got {_shown(tokens)}")
        name = tokens[0]
        slot = columns.get(name)
        if slot is None:
            if name in names and len(tokens) == 1:
                continue  # a bone without dofs, listed without values
            raise AsfAmcError(path, line, f"bone {ascii(name)} has no dofs in {Path(skeleton.path).name}"
                                          if name in names else
                                          f"bone {ascii(name)} is not in the skeleton {Path(skeleton.path).name}")
        start, count = slot
        if len(tokens) - 1 != count:
            dofs = " ".join(skeleton.dofs[skeleton.names.index(name)])
            raise AsfAmcError(path, line, f"bone {name!r} has {count} dofs ({dofs}) in {Path(skeleton.path).name}, "
                                          f"got {len(tokens) - 1} values: {_shown(tokens[1:])}")
        if name in seen:
            raise AsfAmcError(path, line, f"bone {name!r} appears twice in frame {number}")
        seen.add(name)
        row[start : start + count] = tokens[1:]
    if row is None:
        raise AsfAmcError(path, len(lines), "no frames")
    close(len(lines), at_end=True)
    return rows


def _locate(lines: list[str], first: int, frame: int, name: str) -> int:
    """Line number of bone ``name`` in the ``frame``-th frame block (0-based) after line index ``first``."""
    block = -1
    for index in range(first, len(lines)):
        tokens = lines[index].split()
        if len(tokens) == 1 and tokens[0].isdigit():
            block += 1
        elif block == frame and tokens and tokens[0] == name:
            return index + 1
    raise AssertionError(f"frame {frame} has no bone {name}")  # the rows came from these lines


def read_amc(path: str | Path, skeleton: str | Path | AsfSkeleton | None = None, fps: float = DEFAULT_FPS) -> AmcMotion:
    """Read an AMC clip; ``skeleton`` (an ASF file or a parsed one) defaults to :func:`find_asf`.

    Raises:
        FileNotFoundError: no such clip or skeleton file.
        AsfAmcError: malformed (``file:line: problem``): unknown keywords or bones, a bone with the wrong
        number of values, a frame lacking bones (truncated file), frame numbers that skip, values that are
        not numbers or beyond plausible magnitudes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AMC file not found: {path}")
    if not isinstance(skeleton, AsfSkeleton):
        skeleton = read_asf(skeleton if skeleton is not None else find_asf(path))
    lines = _read_lines(path, "AMC")
    first, angle = _amc_header(path, lines, skeleton.angle)
    rows = _amc_rows(path, lines, first, skeleton)
    columns = [(name, d) for name, dofs in zip(skeleton.names, skeleton.dofs) for d in dofs]
    try:
        values = np.array(rows, dtype=np.float64).reshape(len(rows), skeleton.width)
    except ValueError:
        values = None
    bad = None
    if values is None:
        bad = next((f, c) for f, row in enumerate(rows) for c, text in enumerate(row) if not _is_number(text))
    else:
        rotation = np.array([d[0] == "r" for _, d in columns], dtype=bool)
        limit = np.where(rotation, MAX_ROTATION_DEG * math.pi / 180.0 / angle, MAX_POSITION)
        outside = ~np.isfinite(values) | (np.abs(values) > limit)
        if outside.any():
            bad = tuple(int(i) for i in np.argwhere(outside)[0])
    if bad is not None:
        frame, column = bad
        name, dof = columns[column]
        raise AsfAmcError(path, _locate(lines, first, frame, name),
                          f"frame {frame + 1} of the file: {dof} of bone {name!r} is {ascii(rows[frame][column])}, not a "
                          f"finite number within ±{MAX_ROTATION_DEG:g}° (rotations) or ±{MAX_POSITION:g} units "
                          f"(positions)")
    scale = np.array([angle if d[0] == "r" else skeleton.metres for _, d in columns])
    return AmcMotion(str(path), skeleton, values * scale, float(fps))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
