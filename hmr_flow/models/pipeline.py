"""Regress every person of every keypoint image and write the results (what ``hmr-flow regress`` runs; the
counterpart of :func:`hmr_flow.fitting.fit_records`).

Per image ``<name>``, in the output folder, one result set replaced together (:func:`hmr_flow.files.write_set`):
``<name>_hypotheses.npz`` (:meth:`~hmr_flow.models.Hypotheses.to_numpy`: ``global_orient (P, N, 3)`` camera
frame, ``body_pose (P, N, 69)``, ``betas (P, N, 10)``, ``transl (P, N, 3)``, ``log_prob (P, N)``,
``body_model``; the mode at index 0) and, when the image is there, ``<name>_grid.png``
(:func:`~hmr_flow.models.visualise.hypothesis_grid`): the :data:`GRID_PEOPLE` people with the largest boxes
and the first :data:`GRID_HYPOTHESES` hypotheses (a crowd of 3,000 would take minutes and gigabytes to draw;
the ``.npz`` holds them all).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hmr_flow.body.keypoints import to_coco17
from hmr_flow.files import npz_writer, write_set
from hmr_flow.fitting.checks import check_focal, check_keypoints
from hmr_flow.fitting.keypoint_io import KeypointImage
from hmr_flow.fitting.pipeline import image_and_size, warn_empty
from hmr_flow.images import image_writer
from hmr_flow.models.model import HMRFlow
from hmr_flow.models.regress import Hypotheses, check_boxes, regress
from hmr_flow.validation import UserInputError, check_memory

#: The most people and hypotheses a ``<name>_grid.png`` shows (the people with the largest boxes).
GRID_PEOPLE = 8
GRID_HYPOTHESES = 16
#: Bytes of memory per hypothesis of one person while regressing (the flow's activations and the outputs;
#: an upper estimate): ``-n`` × people of an image must fit.
HYPOTHESIS_BYTES = 16_000


def grid_subset(result: Hypotheses) -> Hypotheses:
    """The people (the :data:`GRID_PEOPLE` with the largest boxes, in their order) and hypotheses (the first
    :data:`GRID_HYPOTHESES`) a grid shows (:func:`grid_note` says what it leaves out)."""
    people, count = result.pose.shape[:2]
    if people <= GRID_PEOPLE and count <= GRID_HYPOTHESES:
        return result
    boxes = result.boxes.detach().cpu().numpy()
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return result.select(sorted(np.argsort(-areas, kind="stable")[:GRID_PEOPLE].tolist()), GRID_HYPOTHESES)


def grid_note(people: int, count: int) -> str | None:
    """What a grid of ``people`` × ``count`` hypotheses leaves out (:func:`grid_subset`), or ``None``."""
    if people <= GRID_PEOPLE and count <= GRID_HYPOTHESES:
        return None
    return (f"the grid shows {min(people, GRID_PEOPLE)} of {people} people (the largest) and {min(count, GRID_HYPOTHESES)} "
            f"of {count} hypotheses; the .npz has them all")


def save_hypotheses(out: Path, name: str, result: Hypotheses, image: np.ndarray | None) -> list[Path]:
    """``<name>_hypotheses.npz`` and, with the image, ``<name>_grid.png`` (:func:`grid_subset`), replaced
    together (a failure leaves an earlier set whole; an earlier grid without a new one is removed); returns
    the paths written."""
    writes = {out / f"{name}_hypotheses.npz": npz_writer(result.to_numpy())}
    if image is not None:
        from hmr_flow.models.visualise import hypothesis_grid  # here: it imports the renderer (trimesh, ~1 s)

        writes[out / f"{name}_grid.png"] = image_writer(".png", hypothesis_grid(image, grid_subset(result)))
    return write_set(writes, stale=[out / f"{name}_grid.png"])


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
        if focal is not None:
            check_focal(record.where, focal, size)
        people = 1 if box is not None else len(record.person_ids)
        check_memory(f"-n {n}", f"{record.where}: {people} people × {n} hypotheses", people * n * HYPOTHESIS_BYTES)
        keypoints = boxes = None
        if box is None:
            check_keypoints(record.where, record.keypoints, record.person_ids, size)
            keypoints = to_coco17(record.keypoints, record.keypoint_format)
        else:
            if not model.config.rgb:
                raise UserInputError(f"--bbox: the model takes {model.config.inputs} input, not a photo's box; give "
                                     f"keypoints (--keypoints, or none: the people are detected), or an RGB model "
                                     f"(--model-weights hmr_flow/assets/hmr_synth128.pt)")
            boxes = check_boxes([box], *size, source="--bbox")
        result = regress(model, image, boxes, n, focal, keypoints, temperature, seed, image_size=size)
        save_hypotheses(out, record.name, result, image)
    return chosen
