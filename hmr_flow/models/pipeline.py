"""Regress every person of every keypoint image and write the results (what ``hmr-flow regress`` runs; the
counterpart of :func:`hmr_flow.fitting.fit_records`).

Per image ``<name>``, in the output folder: ``<name>_hypotheses.npz``
(:meth:`~hmr_flow.models.Hypotheses.to_numpy`: ``global_orient (P, N, 3)`` camera frame, ``body_pose (P, N,
69)``, ``betas (P, N, 10)``, ``transl (P, N, 3)``, ``log_prob (P, N)``, ``body_model``; the mode at index 0)
and, when the image is there, ``<name>_grid.png`` (:func:`~hmr_flow.models.visualise.hypothesis_grid`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hmr_flow.body.keypoints import to_coco17
from hmr_flow.files import save_npz
from hmr_flow.fitting.checks import check_keypoints
from hmr_flow.fitting.keypoint_io import KeypointImage
from hmr_flow.fitting.outputs import save_image
from hmr_flow.fitting.pipeline import image_and_size, warn_empty
from hmr_flow.models.model import HMRFlow
from hmr_flow.models.regress import Hypotheses, check_boxes, regress


def save_hypotheses(out: Path, name: str, result: Hypotheses, image: np.ndarray | None) -> list[Path]:
    """``<name>_hypotheses.npz`` and, with the image, ``<name>_grid.png`` (each written whole or not at
    all); returns the paths written."""
    written = [save_npz(result.to_numpy(), out / f"{name}_hypotheses.npz")]
    if image is not None:
        from hmr_flow.models.visualise import hypothesis_grid  # here: it imports the renderer (trimesh, ~1 s)

        written.append(save_image(out / f"{name}_grid.png", hypothesis_grid(image, result)))
    return written


def regress_records(records: list[KeypointImage], model: HMRFlow, out: str | Path, n: int = 16,
                    focal: float | None = None, image_size: tuple[int, int] | None = None, temperature: float = 1.0,
                    seed: int = 0, box: tuple[float, float, float, float] | None = None) -> list[KeypointImage]:
    """The ``n`` hypotheses (mode first, the rest at ``temperature``, ``seed``) of the people of every record,
    written into ``out`` (module docstring); returns the records regressed. People are boxed by their
    keypoints (COCO-17, other formats converted); with ``box`` ``(x0, y0, x1, y1)`` px instead, the one
    person in that box of each record's image (an RGB model's photo without keypoints: ``regress --bbox``).
    Records without people are skipped with one warning that counts them (without ``box``). ``focal``:
    pixels (default ``sqrt(W² + H²)``); ``image_size``: ``(W, H)`` of records with neither image nor size.
    """
    out = Path(out)
    if box is None:
        warn_empty(records)
    chosen = records if box is not None else [record for record in records if record.person_ids]
    for record in chosen:
        image, size = image_and_size(record, image_size)
        keypoints = boxes = None
        if box is None:
            check_keypoints(record.where, record.keypoints, record.person_ids, size)
            keypoints = to_coco17(record.keypoints, record.keypoint_format)
        else:
            boxes = check_boxes([box], *size, source="--bbox")
        result = regress(model, image, boxes, n, focal, keypoints, temperature, seed, image_size=size)
        save_hypotheses(out, record.name, result, image)
    return chosen
