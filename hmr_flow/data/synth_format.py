"""On-disk format of the synthetic image sets written by ``python -m data_tools synth render``.

A set is a folder with ``manifest.json`` and shards ``shard_00000.npz``, ``shard_00001.npz``, …

**Why this layout.** Each shard is an *uncompressed* ``.npz`` (plain numpy arrays, no pickles) holding
a few hundred samples: images as JPEG bytes (quality 95) concatenated in one ``uint8`` buffer with
offsets, masks as bit-packed arrays, and the ground truth as stacked float arrays. JPEG makes a
128 px image ~8 KB instead of 48 KB raw (≈6×), decodes in ~0.1 ms and its artefacts are below the
sensor noise the renderer adds; the masks must stay exact, so they are packed bits (2 KB at 128 px).
A whole 20k set then fits in memory (≈0.3 GB), so the dataset reads each shard once. The manifest
stores a SHA-256 per shard, so a truncated or altered shard is reported by name instead of
producing garbage.

Shard arrays (``N`` samples, crop ``S × S`` pixels):

=====================  ============  ===================================================================
key                    shape/dtype   meaning
=====================  ============  ===================================================================
``jpeg``               (bytes,) u1   all JPEG images, concatenated
``jpeg_offsets``       (N+1,) i8     image ``i`` is ``jpeg[off[i]:off[i+1]]`` (RGB, ``S × S``)
``silhouette_bits``    (N, S²/8) u1  ``np.packbits`` of the body silhouette (ignoring occluders)
``occluder_bits``      (N, S²/8) u1  packed mask of silhouette pixels hidden by an occluder
``global_orient``      (N, 3) f4     root rotation **in the camera frame**, axis-angle (radians)
``body_pose``          (N, 69) f4    23 joint rotations relative to their parents, axis-angle
``betas``              (N, 10) f4    shape coefficients
``transl``             (N, 3) f4     metres: ``BodyModel(global_orient, body_pose, betas, transl)``
                                     gives the mesh directly in the camera frame
``focal``              (N,) f4       pixels (square pixels); principal point = crop centre ``(S/2, S/2)``
``joints3d``           (N, 24, 3) f4 SMPL joints, camera frame, metres
``keypoints2d``        (N, 17, 2) f4 COCO-17 ``(u, v)`` crop pixels (pixel ``(i, j)`` covers
                                     ``[j, j+1) × [i, i+1)``)
``visibility``         (N, 17) u1    0 outside the crop, 1 inside but hidden (self or occluder), 2 visible
``bbox``               (N, 4) f4     ``x0, y0, x1, y1`` of the silhouette in crop pixels
``subject``            (N,) i4       CMU subject of the mocap frame
``clip``               (N,) i4       index into the manifest's ``clip_names``
``frame``              (N,) i4       row of the frame in the pose file
``index``              (N,) i8       image index in the set (its random stream is ``(seed, index)``)
=====================  ============  ===================================================================

Camera frame: OpenCV (x right, y down, z forward), see :mod:`hmr_flow.geometry.camera`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hmr_flow.validation import UserInputError

FORMAT_NAME = "hmr-flow-synth"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

#: Per-sample arrays: key → (trailing shape with ``"S"`` placeholders, dtype).
SAMPLE_ARRAYS: dict[str, tuple[tuple[Any, ...], str]] = {
    "silhouette_bits": (("S2/8",), "uint8"),
    "occluder_bits": (("S2/8",), "uint8"),
    "global_orient": ((3,), "float32"),
    "body_pose": ((69,), "float32"),
    "betas": ((10,), "float32"),
    "transl": ((3,), "float32"),
    "focal": ((), "float32"),
    "joints3d": ((24, 3), "float32"),
    "keypoints2d": ((17, 2), "float32"),
    "visibility": ((17,), "uint8"),
    "bbox": ((4,), "float32"),
    "subject": ((), "int32"),
    "clip": ((), "int32"),
    "frame": ((), "int32"),
    "index": ((), "int64"),
}
FLOAT_KEYS = tuple(k for k, (_, dtype) in SAMPLE_ARRAYS.items() if dtype.startswith("float"))
SHARD_KEYS = ("jpeg", "jpeg_offsets", *SAMPLE_ARRAYS)


class SynthDataError(UserInputError):
    """A synthetic set (manifest or shard) is missing, corrupt or inconsistent; the message names the file."""


def shard_name(number: int) -> str:
    return f"shard_{number:05d}.npz"


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """``(H, W, 3)`` uint8 RGB → JPEG bytes (deterministic for a given OpenCV build)."""
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buffer.tobytes()


def pack_mask(mask: np.ndarray) -> np.ndarray:
    """``(S, S)`` bool → ``(S²/8,)`` uint8."""
    return np.packbits(mask.reshape(-1).astype(bool))


def unpack_mask(bits: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`pack_mask`: ``(S, S)`` bool."""
    return np.unpackbits(bits, count=size * size).reshape(size, size).astype(bool)


@dataclass(frozen=True)
class ShardEntry:
    """One shard listed in the manifest."""

    file: str
    count: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Parsed ``manifest.json``: ``image_size`` S, total ``count``, ``shards``, ``clip_names`` and the
    render settings (``info``, free-form JSON kept for provenance)."""

    root: Path
    image_size: int
    count: int
    shards: tuple[ShardEntry, ...]
    clip_names: tuple[str, ...]
    info: dict[str, Any]


def read_manifest(root: str | Path) -> Manifest:
    """Read and check ``root/manifest.json``. Raises :class:`SynthDataError` naming the file."""
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise SynthDataError(f"{path}: manifest not found (is {root} a synthetic set written by 'synth render'?)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SynthDataError(f"{path}: corrupt manifest ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise SynthDataError(f"{path}: not a {FORMAT_NAME} manifest")
    if data.get("version") != FORMAT_VERSION:
        raise SynthDataError(f"{path}: format version {data.get('version')}, this code reads {FORMAT_VERSION}")
    try:
        shards = tuple(ShardEntry(str(s["file"]), int(s["count"]), str(s["sha256"])) for s in data["shards"])
        size, count = int(data["image_size"]), int(data["count"])
        clip_names = tuple(str(c) for c in data["clip_names"])
    except (KeyError, TypeError, ValueError) as err:
        raise SynthDataError(f"{path}: missing or malformed field ({err!r})") from None
    if size <= 0 or size % 8:
        raise SynthDataError(f"{path}: image_size {size} must be a positive multiple of 8")
    if sum(s.count for s in shards) != count:
        raise SynthDataError(f"{path}: shard counts sum to {sum(s.count for s in shards)}, manifest says {count}")
    return Manifest(root, size, count, shards, clip_names, dict(data.get("info", {})))


def load_shard(manifest: Manifest, entry: ShardEntry, verify: bool = True) -> dict[str, np.ndarray]:
    """Read one shard, checking its checksum (if ``verify``), keys, shapes, dtypes and finiteness.

    Returns the arrays of the table in the module docstring. Raises :class:`SynthDataError`.
    """
    path = manifest.root / entry.file
    if not path.is_file():
        raise SynthDataError(f"{path}: shard listed in {manifest.root / MANIFEST_NAME} is missing")
    raw = path.read_bytes()
    if verify and hashlib.sha256(raw).hexdigest() != entry.sha256:
        raise SynthDataError(f"{path}: checksum mismatch, the shard is corrupt or was modified (re-render it)")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise SynthDataError(f"{path}: corrupt shard ({err})") from None
    missing = [k for k in SHARD_KEYS if k not in arrays]
    if missing:
        raise SynthDataError(f"{path}: missing arrays {missing}")
    n, size = entry.count, manifest.image_size
    for key, (trailing, dtype) in SAMPLE_ARRAYS.items():
        shape = (n, *(size * size // 8 if t == "S2/8" else t for t in trailing))
        if arrays[key].shape != shape or arrays[key].dtype != np.dtype(dtype):
            raise SynthDataError(
                f"{path}: {key!r} is {arrays[key].shape} {arrays[key].dtype}, expected {shape} {dtype}"
            )
        if key in FLOAT_KEYS and not np.isfinite(arrays[key]).all():
            raise SynthDataError(f"{path}: {key!r} contains NaN or infinite values")
    offsets = arrays["jpeg_offsets"]
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != arrays["jpeg"].size or (np.diff(offsets) <= 0).any():
        raise SynthDataError(f"{path}: 'jpeg_offsets' do not index the 'jpeg' buffer")
    if arrays["clip"].size and (arrays["clip"].min() < 0 or arrays["clip"].max() >= len(manifest.clip_names)):
        raise SynthDataError(f"{path}: 'clip' ids outside the manifest's {len(manifest.clip_names)} clip names")
    return arrays


def decode_image(shard: dict[str, np.ndarray], row: int, size: int, source: Path | str) -> np.ndarray:
    """Image ``row`` of a loaded shard as ``(S, S, 3)`` uint8 RGB; ``source`` names the shard in errors."""
    offsets = shard["jpeg_offsets"]
    image = cv2.imdecode(shard["jpeg"][offsets[row] : offsets[row + 1]], cv2.IMREAD_COLOR)
    if image is None or image.shape != (size, size, 3):
        raise SynthDataError(f"{source}: image {row} is not a decodable {size}×{size} JPEG")
    return image[..., ::-1].copy()
