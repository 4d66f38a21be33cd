"""BVH (Biovision hierarchy) reader and forward kinematics.

A BVH file has a ``HIERARCHY`` section (nested ``ROOT``/``JOINT``/``End Site`` blocks, each with an
``OFFSET`` from its parent in the parent's frame and, for joints, a ``CHANNELS`` list) and a ``MOTION``
section (``Frames:``, ``Frame Time:``, then one line of channel values per frame).

Conventions used here:

* Rotation channels are in degrees; a joint's local rotation is the product of its per-axis rotations
  in the order the channels are listed (``Zrotation Yrotation Xrotation`` → ``Rz @ Ry @ Rx``), acting
  on column vectors of the child frame. Any of the six Euler orders is accepted.
* Position channels (usually root only) replace the joint's offset for that frame.
* Units are the file's own (no scaling); ``End Site`` blocks are kept as extra leaf joints without
  channels, named ``<parent>_end``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import roma
import torch

from hmr_flow.validation import UserInputError

#: Limits of a plausible BVH: joint nesting depth, seconds per frame, frame count, and the largest
#: channel values: rotations in degrees (a hundred turns: unwrapped angles of a long clip stay far below),
#: positions in file units (a kilometre in millimetres). Larger values are typos or corrupt files; their
#: rotations and positions are not meaningful (1e308 degrees has no sine) and the rig fit later fails.
MAX_DEPTH = 256
FRAME_TIME_RANGE = (1e-4, 10.0)
MAX_FRAMES = 10_000_000
MAX_ROTATION_DEG = 36_000.0
MAX_POSITION = 1e6
_ROT_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POS_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class MocapFileError(UserInputError):
    """A malformed mocap file; the message names the file, the line (when known) and what was expected."""

    def __init__(self, path: str | Path, line: int | None, problem: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


class BvhError(MocapFileError):
    """A malformed BVH file (see :class:`MocapFileError`)."""


@dataclass
class BvhMotion:
    """A parsed BVH clip.

    Attributes:
        path: source file.
        names: ``J`` joint names in file order (parents precede children); End Sites are ``<parent>_end``.
        parents: ``(J,)`` int parent index, ``-1`` for the root.
        offsets: ``(J, 3)`` rest offsets from the parent, file units, parent frame.
        channels: per joint, the list of channel names (empty for End Sites).
        values: ``(F, C)`` float64 channel values of every frame, ``C`` = total channel count.
        frame_time: seconds per frame as written in the header.
    """

    path: str
    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[list[str]]
    values: np.ndarray
    frame_time: float
    channel_start: list[int] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Index of joint ``name``; ``KeyError`` naming the file when absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{self.path}: no joint named {name!r}") from None

    def local_transforms(self, frames: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local rotations and translations.

        Returns:
            rot: ``(F, J, 3, 3)`` local rotation matrices (identity for End Sites / joints without
            rotation channels); trans: ``(F, J, 3)`` local translations (offset, or position channels).
        """
        values = self.values if frames is None else self.values[frames]
        n, j = values.shape[0], len(self.names)
        rot = np.broadcast_to(np.eye(3), (n, j, 3, 3)).copy()
        trans = np.broadcast_to(self.offsets, (n, j, 3)).copy()
        for k, chans in enumerate(self.channels):
            if not chans:
                continue
            start = self.channel_start[k]
            axes = "".join(_ROT_CHANNELS[c] for c in chans if c in _ROT_CHANNELS)
            if axes:
                cols = [start + i for i, c in enumerate(chans) if c in _ROT_CHANNELS]
                angles = torch.from_numpy(np.ascontiguousarray(values[:, cols]))
                rot[:, k] = roma.euler_to_rotmat(axes, angles, degrees=True).numpy()
            for i, c in enumerate(chans):
                if c in _POS_CHANNELS:
                    trans[:, k, _POS_CHANNELS[c]] = values[:, start + i]
        return rot, trans

    def forward_kinematics(self, frames: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Global joint rotations ``(F, J, 3, 3)`` and positions ``(F, J, 3)`` in file units/world frame."""
        rot, trans = self.local_transforms(frames)
        grot = np.empty_like(rot)
        gpos = np.empty_like(trans)
        for k, p in enumerate(self.parents):
            if p < 0:
                grot[:, k] = rot[:, k]
                gpos[:, k] = trans[:, k]
            else:
                grot[:, k] = grot[:, p] @ rot[:, k]
                gpos[:, k] = gpos[:, p] + np.einsum("fij,fj->fi", grot[:, p], trans[:, k])
        return grot, gpos

    def rest_positions(self) -> np.ndarray:
        """``(J, 3)`` joint positions with every channel at zero (the rig's zero pose), file units."""
        pos = np.zeros((len(self.names), 3))
        for k, p in enumerate(self.parents):
            pos[k] = self.offsets[k] if p < 0 else pos[p] + self.offsets[k]
        return pos


class _Lines:
    """Token reader over the file's lines that remembers line numbers for error messages."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.i = 0

    def next_tokens(self, expected: str) -> tuple[list[str], int]:
        while self.i < len(self.lines):
            self.i += 1
            tokens = self.lines[self.i - 1].split()
            if tokens:
                return tokens, self.i
        raise BvhError(self.path, len(self.lines), f"unexpected end of file, expected {expected}")

    def fail(self, line: int, problem: str) -> BvhError:
        return BvhError(self.path, line, problem)


def _floats(lines: _Lines, tokens: list[str], line: int, count: int, what: str) -> list[float]:
    if len(tokens) != count:
        raise lines.fail(line, f"expected {count} numbers for {what}, got {len(tokens)}: {' '.join(tokens)!r}")
    try:
        out = [float(t) for t in tokens]
    except ValueError:
        raise lines.fail(line, f"expected numbers for {what}, got {' '.join(tokens)!r}") from None
    if not all(math.isfinite(v) for v in out):
        raise lines.fail(line, f"non-finite value in {what}: {' '.join(tokens)!r}")
    return out


def _parse_joint(lines: _Lines, name: str, parent: int, motion: dict, end_site: bool = False, depth: int = 1) -> None:
    """Parse one ``{ OFFSET ... CHANNELS ... children }`` block after its ``ROOT/JOINT name`` line."""
    if depth > MAX_DEPTH:
        raise lines.fail(lines.i, f"joints nested more than {MAX_DEPTH} deep (joint {name!r}); not a body rig")
    tokens, ln = lines.next_tokens("'{'")
    if tokens != ["{"]:
        raise lines.fail(ln, f"expected '{{' to open joint {name!r}, got {' '.join(tokens)!r}")
    index = len(motion["names"])
    motion["names"].append(name)
    motion["parents"].append(parent)
    tokens, ln = lines.next_tokens(f"OFFSET of joint {name!r}")
    if tokens[0] != "OFFSET":
        raise lines.fail(ln, f"expected OFFSET for joint {name!r}, got {tokens[0]!r}")
    motion["offsets"].append(_floats(lines, tokens[1:], ln, 3, f"OFFSET of {name!r}"))
    chans: list[str] = []
    if not end_site:
        tokens, ln = lines.next_tokens(f"CHANNELS of joint {name!r}")
        if tokens[0] != "CHANNELS":
            raise lines.fail(ln, f"expected CHANNELS for joint {name!r}, got {tokens[0]!r}")
        try:
            count = int(tokens[1])
        except (IndexError, ValueError):
            raise lines.fail(ln, f"expected a channel count after CHANNELS for joint {name!r}") from None
        chans = tokens[2:]
        if len(chans) != count:
            raise lines.fail(ln, f"joint {name!r} declares {count} channels but lists {len(chans)}")
        unknown = [c for c in chans if c not in _ROT_CHANNELS and c not in _POS_CHANNELS]
        if unknown:
            raise lines.fail(ln, f"unknown channel {unknown[0]!r} for joint {name!r} "
                                 f"(expected X/Y/Z position or rotation)")
        if sum(c in _ROT_CHANNELS for c in chans) not in (0, 3):
            raise lines.fail(ln, f"joint {name!r} needs 0 or 3 rotation channels, got {chans}")
    motion["channels"].append(chans)
    while True:
        tokens, ln = lines.next_tokens(f"JOINT, End Site or '}}' in joint {name!r}")
        if tokens == ["}"]:
            return
        if end_site:
            raise lines.fail(ln, f"expected '}}' to close End Site of {name[:-4]!r}, got {' '.join(tokens)!r}")
        if tokens[0] == "JOINT" and len(tokens) >= 2:
            _parse_joint(lines, " ".join(tokens[1:]), index, motion, depth=depth + 1)
        elif tokens[:2] == ["End", "Site"]:
            _parse_joint(lines, f"{name}_end", index, motion, end_site=True, depth=depth + 1)
        else:
            raise lines.fail(ln, f"expected JOINT, End Site or '}}' in joint {name!r}, got {' '.join(tokens)!r}")


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse a BVH file.

    Raises:
        FileNotFoundError: the file does not exist.
        BvhError: the file is malformed (message: ``file:line: what was expected``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BVH file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BvhError(path, None, f"not a text file ({exc.reason} at byte {exc.start})") from None
    lines = _Lines(path, text)
    tokens, ln = lines.next_tokens("HIERARCHY")
    if tokens != ["HIERARCHY"]:
        raise lines.fail(ln, f"expected 'HIERARCHY' as the first line, got {' '.join(tokens)!r}")
    tokens, ln = lines.next_tokens("ROOT")
    if tokens[0] != "ROOT" or len(tokens) < 2:
        raise lines.fail(ln, f"expected 'ROOT <name>', got {' '.join(tokens)!r}")
    motion: dict = {"names": [], "parents": [], "offsets": [], "channels": []}
    _parse_joint(lines, " ".join(tokens[1:]), -1, motion)

    tokens, ln = lines.next_tokens("MOTION")
    if tokens != ["MOTION"]:
        raise lines.fail(ln, f"expected 'MOTION' after the hierarchy (a second ROOT is not supported), "
                             f"got {' '.join(tokens)!r}")
    tokens, ln = lines.next_tokens("'Frames: <n>'")
    if tokens[0] != "Frames:" or len(tokens) != 2 or not tokens[1].isdigit():
        raise lines.fail(ln, f"expected 'Frames: <n>', got {' '.join(tokens)!r}")
    num_frames = int(tokens[1])
    if not 1 <= num_frames <= MAX_FRAMES:
        raise lines.fail(ln, f"expected 1 to {MAX_FRAMES} frames, got {num_frames}")
    tokens, ln = lines.next_tokens("'Frame Time: <seconds>'")
    if tokens[:2] != ["Frame", "Time:"] or len(tokens) != 3:
        raise lines.fail(ln, f"expected 'Frame Time: <seconds>', got {' '.join(tokens)!r}")
    frame_time = _floats(lines, tokens[2:], ln, 1, "Frame Time")[0]
    if not FRAME_TIME_RANGE[0] <= frame_time <= FRAME_TIME_RANGE[1]:
        raise lines.fail(ln, f"Frame Time must be {FRAME_TIME_RANGE[0]:g} to {FRAME_TIME_RANGE[1]:g} seconds, got "
                             f"{frame_time:g}")

    starts, total = [], 0
    for chans in motion["channels"]:
        starts.append(total)
        total += len(chans)
    first = lines.i
    rows = [ln for ln in lines.lines[first:] if ln.strip()]
    if len(rows) < num_frames:
        raise BvhError(path, len(lines.lines), f"header says {num_frames} frames but only {len(rows)} follow")
    try:
        values = np.array(" ".join(rows[:num_frames]).split(), dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.size != num_frames * total:
        _locate_bad_row(lines, first, num_frames, total)
    values = values.reshape(num_frames, total)
    if not np.isfinite(values).all():
        _locate_bad_row(lines, first, num_frames, total)
    _check_magnitudes(lines, first, values, motion)
    return BvhMotion(str(path), motion["names"], np.array(motion["parents"]), np.array(motion["offsets"]),
                     motion["channels"], values, frame_time, starts)


def _check_magnitudes(lines: _Lines, first: int, values: np.ndarray, motion: dict) -> None:
    """Raise a BvhError at the first frame with a rotation over :data:`MAX_ROTATION_DEG` degrees or a
    position over :data:`MAX_POSITION` units (one vectorised comparison per file)."""
    columns = [(name, c) for name, chans in zip(motion["names"], motion["channels"]) for c in chans]
    limits = np.array([MAX_ROTATION_DEG if c in _ROT_CHANNELS else MAX_POSITION for _, c in columns])
    bad = np.abs(values) > limits
    if not bad.any():
        return
    frame, column = (int(i) for i in np.argwhere(bad)[0])
    line = [k for k in range(first, len(lines.lines)) if lines.lines[k].strip()][frame] + 1
    name, channel = columns[column]
    unit = "degrees" if channel in _ROT_CHANNELS else "units"
    raise lines.fail(line, f"frame {frame}: {channel} of joint {name!r} is {values[frame, column]:.3g} {unit}, beyond "
                           f"±{limits[column]:g}; not a plausible motion value")


def _locate_bad_row(lines: _Lines, first: int, num_frames: int, total: int) -> None:
    """Raise a BvhError pointing at the first frame line that is not ``total`` finite numbers."""
    seen = 0
    for ln in range(first, len(lines.lines)):
        tokens = lines.lines[ln].split()
        if not tokens:
            continue
        _floats(lines, tokens, ln + 1, total, f"frame {seen} (one value per channel)")
        seen += 1
        if seen == num_frames:
            break
    raise BvhError(lines.path, None, "motion data does not match the channel count")
