"""Write rendered records into shards and a manifest (format: :mod:`hmr_flow.data.synth_format`).

Every file is written to a temporary name and renamed, so an interrupted render never leaves a
half-written shard or manifest behind; the manifest is written last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hmr_flow.data.synth_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SAMPLE_ARRAYS,
    pack_mask,
    shard_name,
)
from hmr_flow.files import save_npz, sha256_file, write_text


def prepare_output(out: Path, overwrite: bool) -> None:
    """Create ``out``; refuse to mix with an existing set unless ``overwrite`` (then delete its shards)."""
    old = sorted(out.glob("shard_*.npz")) + ([out / MANIFEST_NAME] if (out / MANIFEST_NAME).exists() else [])
    if old and not overwrite:
        raise FileExistsError(f"{out}: already holds a synthetic set ({len(old)} files); pass --overwrite to replace it")
    for path in old:
        path.unlink()
    out.mkdir(parents=True, exist_ok=True)


class ShardWriter:
    """Collects records (from :meth:`SynthRenderer.render`) and writes a shard every ``shard_size``."""

    def __init__(self, out: str | Path, image_size: int, shard_size: int = 500):
        if shard_size <= 0:
            raise ValueError(f"shard_size: expected > 0, got {shard_size}")
        self.out, self.image_size, self.shard_size = Path(out), image_size, shard_size
        self.entries: list[dict[str, Any]] = []
        self._pending: list[dict] = []

    @property
    def count(self) -> int:
        return sum(e["count"] for e in self.entries) + len(self._pending)

    def add(self, record: dict) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        records, self._pending = self._pending, []
        jpegs = [np.frombuffer(r["jpeg"], dtype=np.uint8) for r in records]
        arrays = {
            "jpeg": np.concatenate(jpegs),
            "jpeg_offsets": np.concatenate([[0], np.cumsum([j.size for j in jpegs])]).astype(np.int64),
            "silhouette_bits": np.stack([pack_mask(r["silhouette"]) for r in records]),
            "occluder_bits": np.stack([pack_mask(r["occluder"]) for r in records]),
        }
        for key, (_, dtype) in SAMPLE_ARRAYS.items():
            if key not in arrays:
                arrays[key] = np.stack([np.asarray(r[key]) for r in records]).astype(dtype)
        path = self.out / shard_name(len(self.entries))
        save_npz(arrays, path)
        self.entries.append({"file": path.name, "count": len(records), "sha256": sha256_file(path)})

    def close(self, clip_names: list[str], info: dict[str, Any]) -> Path:
        """Write the remaining records and the manifest; returns the manifest path."""
        self.flush()
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "image_size": self.image_size,
            "count": self.count,
            "shards": self.entries,
            "clip_names": list(clip_names),
            "info": info,
        }
        path = self.out / MANIFEST_NAME
        return write_text(path, json.dumps(manifest, indent=1))
