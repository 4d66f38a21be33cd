"""Retargeting quality tables: matched-joint position error per clip and per rig (median, p95, cm)."""

from __future__ import annotations

import numpy as np

from data_tools.mocap.convert import ConvertedClip

#: Targets from the tracker (metres): median and 95th percentile of matched-joint error, every rig.
TARGET_MEDIAN_M = 0.03
TARGET_P95_M = 0.06


def clip_rows(clips: list[ConvertedClip]) -> list[dict]:
    """One row per clip: rig, clip, subject, frames, median_cm, p95_cm."""
    return [
        {"rig": c.rig, "clip": c.clip, "subject": c.subject, "frames": len(c.frame),
         "median_cm": 100 * float(np.median(c.errors)), "p95_cm": 100 * float(np.percentile(c.errors, 95))}
        for c in clips
    ]


def rig_rows(clips: list[ConvertedClip]) -> list[dict]:
    """One row per rig over all its frames: clips, subjects, frames, median_cm, p95_cm, meets_target."""
    rows = []
    for rig in sorted({c.rig for c in clips}):
        mine = [c for c in clips if c.rig == rig]
        err = np.concatenate([c.errors.ravel() for c in mine])
        med, p95 = float(np.median(err)), float(np.percentile(err, 95))
        rows.append({
            "rig": rig, "clips": len(mine), "subjects": len({c.subject for c in mine}),
            "frames": sum(len(c.frame) for c in mine), "median_cm": 100 * med, "p95_cm": 100 * p95,
            "meets_target": med <= TARGET_MEDIAN_M and p95 <= TARGET_P95_M,
        })
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text table of ``rows`` (floats with one decimal)."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
