"""Evaluation of :class:`HMRFlow` on synthetic renders with exact ground truth.

Per crop the model draws ``n`` hypotheses, the mode first. Figures (means over crops):

- ``nll``: −log p(true pose | image), nats per pose (no jitter).
- ``mpjpe_mode`` / ``pa_mpjpe_mode``: mean joint error of the mode over the 24 SMPL joints, mm,
  pelvis-aligned / after a similarity Procrustes alignment.
- ``mpjpe_best{N}`` / ``pa_mpjpe_best{N}``: the smallest error among the first ``N`` hypotheses
  (mode included) for N in 5, 25 (those ≤ ``n``); ``best1`` is the mode.
- ``reprojection_px``: pixel distance between the mode's projected COCO-17 keypoints and the true
  ones, over keypoints inside the crop.

Calibration of the random hypotheses (index 1 on; needs ``n ≥ 3``). A keypoint is *seen* when the model
was given it (input confidence > 0; for renders without keypoint input, labelled visible) and *hidden*
otherwise (dropped, occluded or outside the crop):

- ``sample_pck_seen``: PCK@0.1 (:func:`hmr_flow.metrics.pck`) of each random hypothesis's projected
  keypoints against the seen input keypoints (the model's own input, noise included), mean over
  hypotheses.
- ``diversity_visible_mm`` / ``diversity_hidden_mm``: spread of the random hypotheses (mean distance
  of each pelvis-centred COCO-17 keypoint from the hypotheses' mean), over seen / hidden keypoints.
- ``error_visible_mm`` / ``error_hidden_mm``: distance of the *mode's* pelvis-centred COCO-17 keypoints
  from the true ones, over seen / hidden keypoints: how much less the input tells about the hidden ones,
  the reference for the spread (a calibrated posterior spreads about as much more on hidden keypoints as
  its mode errs more there).
- ``coverage90``: share of the true pelvis-centred joints (the 23 besides the pelvis) that lie within
  the hypotheses' per-joint 90 % radius (the 90th percentile of their distances from their mean) of
  that mean; a calibrated posterior gives ≈ 0.9.
- ``coverage90_visible`` / ``coverage90_hidden``: the same test on the pelvis-centred COCO-17
  keypoints, over the seen / hidden ones (a calibrated posterior covers ≈ 0.9 of each group: tight
  where the input tells, wide where it does not).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.body.skeleton import NUM_JOINTS
from hmr_flow.geometry import axis_angle_to_matrix
from hmr_flow.metrics import mean_joint_distance, pa_mpjpe, pck
from hmr_flow.models.distributed import DistInfo, all_reduce_sum
from hmr_flow.models.losses import posed_keypoints, project_samples, target_pose
from hmr_flow.models.model import HMRConfig, HMRFlow, pose_to_rot6d

BEST_OF = (5, 25)
#: Figures averaged over keypoints rather than crops, and the count they are divided by.
_PER_KEYPOINT = {"reprojection_px": "reprojection_count", "diversity_visible_mm": "diversity_visible_count",
                 "diversity_hidden_mm": "diversity_hidden_count", "sample_pck_seen": "sample_pck_count",
                 "error_visible_mm": "diversity_visible_count", "error_hidden_mm": "diversity_hidden_count",
                 "coverage90_visible": "diversity_visible_count", "coverage90_hidden": "diversity_hidden_count"}
#: Radius quantile of :data:`coverage90`'s per-joint sample spread.
COVERAGE_QUANTILE = 0.9


def model_inputs(config: HMRConfig, batch: dict) -> tuple:
    """``(images, keypoints, confidence)`` for :meth:`HMRFlow.encode` from a data batch: the RGB crops
    if the model takes them, and the keypoint input if it takes keypoints — the batch's
    ``input_keypoints``/``input_confidence`` (generated pairs) or else the true visible keypoints."""
    images = batch["image"] if config.rgb else None
    if not config.keypoint_channels:
        return images, None, None
    if "input_keypoints" in batch:
        return images, batch["input_keypoints"], batch["input_confidence"]
    return images, batch["keypoints2d"], (batch["visibility"] == 2).float()


def _batch_figures(model: HMRFlow, body: KeypointBody, batch: dict, n: int, generator: torch.Generator,
                   temperature: float) -> dict[str, torch.Tensor]:
    """Per-batch sums of the figures in the module docstring."""
    size = model.config.image_size
    images, keypoints, confidence = model_inputs(model.config, batch)
    features = model.encode(images, keypoints, confidence)
    samples = model.decode(features, model.latent(features.shape[0], n, temperature, generator))
    log_prob = model.flow_log_prob(pose_to_rot6d(target_pose(batch)), features)
    joints, coco, normalised = project_samples(body, samples, batch["focal"], size)
    truth = batch["joints3d"].to(joints)
    centred = joints - joints[..., :1, :]
    true_centred = (truth - truth[:, :1])[:, None].expand_as(centred)
    mpjpe = 1000.0 * mean_joint_distance(centred, true_centred)  # (B, n)
    flat = (-1, *centred.shape[-2:])
    pa = 1000.0 * pa_mpjpe(centred.reshape(flat), true_centred.reshape(flat)).reshape(mpjpe.shape)
    sums = {"count": torch.tensor(float(joints.shape[0]), device=joints.device), "nll": -log_prob.sum(),
            "mpjpe_mode": mpjpe[:, 0].sum(), "pa_mpjpe_mode": pa[:, 0].sum()}
    for best in BEST_OF:
        if best <= n:
            sums[f"mpjpe_best{best}"] = mpjpe[:, :best].amin(1).sum()
            sums[f"pa_mpjpe_best{best}"] = pa[:, :best].amin(1).sum()
    inside = (batch["visibility"] > 0).float()
    pixels = (normalised[:, 0] * size / 2.0 + size / 2.0 - batch["keypoints2d"]).norm(dim=-1)
    sums["reprojection_px"] = (pixels * inside).sum()
    sums["reprojection_count"] = inside.sum()
    if n > 2:
        # seen: the keypoints the model was given, or for inputs without keypoints those labelled visible
        seen = confidence > 0 if keypoints is not None else batch["visibility"] == 2
        true_coco = _true_keypoints(body, batch, joints)
        sums.update(_calibration_sums(seen, keypoints, joints[:, 1:], coco[:, 1:], normalised[:, 1:], truth, size,
                                      true_coco))
        sums.update(_mode_error_sums(seen, joints[:, 0], coco[:, 0], true_coco))
    return sums


def _true_keypoints(body: KeypointBody, batch: dict, like: torch.Tensor) -> torch.Tensor:
    """``(B, 17, 3)`` true COCO-17 keypoints, pelvis-centred (camera frame, metres), posed from the batch's
    pose, betas and translation."""
    rotmats = axis_angle_to_matrix(target_pose(batch).reshape(-1, NUM_JOINTS, 3)).to(like)
    true_joints, true_coco = posed_keypoints(body, rotmats, batch["betas"].to(like), batch["transl"].to(like))
    return true_coco - true_joints[:, :1]


def _mode_error_sums(seen, joints, coco, true_coco) -> dict:
    """Sums of ``error_visible_mm`` / ``error_hidden_mm`` (module docstring) for the mode's ``joints (B, 24,
    3)`` and ``coco (B, 17, 3)``, camera frame, over the ``seen (B, 17)`` keypoints and the others, against
    the pelvis-centred ``true_coco (B, 17, 3)``."""
    error = 1000.0 * ((coco - joints[:, :1]) - true_coco).norm(dim=-1)  # (B, 17)
    return {"error_visible_mm": (error * seen).sum(), "error_hidden_mm": (error * ~seen).sum()}


def _covered(samples: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``(B, P)`` whether each true point ``truth (B, P, 3)`` lies within the 90 % radius (the
    :data:`COVERAGE_QUANTILE` of the distances of ``samples (B, m, P, 3)`` from their mean) of that mean."""
    mean = samples.mean(1)
    radius = torch.quantile((samples - mean[:, None]).norm(dim=-1), COVERAGE_QUANTILE, dim=1)
    return ((truth - mean).norm(dim=-1) <= radius).float()


def _calibration_sums(seen, keypoints, joints, coco, normalised, truth, size: int, true_coco) -> dict:
    """Sums of the calibration figures (module docstring) for the random hypotheses: ``joints (B, m, 24,
    3)`` and ``coco (B, m, 17, 3)`` camera frame, ``normalised (B, m, 17, 2)`` crop coordinates, ``truth
    (B, 24, 3)`` joints and ``true_coco (B, 17, 3)`` pelvis-centred keypoints, over the ``seen (B, 17)``
    keypoints and the others; ``keypoints (B, 17, 2)`` the model's input (``None`` without keypoint input:
    no sample PCK)."""
    pelvis = joints[..., :1, :]
    random = coco - pelvis
    spread = 1000.0 * (random - random.mean(1, keepdim=True)).norm(dim=-1).mean(1)  # (B, 17)
    sums = {"diversity_visible_mm": (spread * seen).sum(), "diversity_visible_count": seen.sum().float(),
            "diversity_hidden_mm": (spread * ~seen).sum(), "diversity_hidden_count": (~seen).sum().float()}
    sums["coverage90"] = _covered((joints - pelvis)[..., 1:, :], (truth - truth[:, :1])[:, 1:]).mean(1).sum()
    covered = _covered(random, true_coco)  # (B, 17)
    sums["coverage90_visible"], sums["coverage90_hidden"] = (covered * seen).sum(), (covered * ~seen).sum()
    has_seen = seen.any(1)
    if keypoints is not None and has_seen.any():
        m = normalised.shape[1]
        pixels = normalised[has_seen] * size / 2.0 + size / 2.0  # (b, m, 17, 2)
        target = keypoints[has_seen].to(pixels)[:, None].expand_as(pixels)
        mask = seen[has_seen][:, None].expand(-1, m, -1)
        scores = pck(pixels.reshape(-1, *pixels.shape[2:]), target.reshape(-1, *target.shape[2:]), mask.reshape(-1, mask.shape[-1]))
        sums["sample_pck_seen"] = scores.sum()
        sums["sample_pck_count"] = torch.tensor(float(scores.numel()), device=scores.device)
    return sums


@torch.no_grad()
def evaluate(
    model: HMRFlow,
    body: KeypointBody,
    dataset: Dataset,
    device: torch.device | str,
    n: int = 25,
    batch_size: int = 32,
    seed: int = 0,
    info: DistInfo = DistInfo(),
    progress: bool = True,
    temperature: float = 1.0,
) -> dict[str, float]:
    """Figures of the module docstring over ``dataset`` (items as :class:`hmr_flow.data.SynthDataset`,
    or generated keypoint pairs, :class:`hmr_flow.data.PairSet`).

    ``temperature`` scales the latent noise of the random hypotheses (the mode is unaffected).
    With several processes each evaluates every ``world``-th item and the sums are combined, so all
    ranks return the same figures. The model is left in eval mode.
    """
    model.eval()
    device = torch.device(device)
    if info.world > 1:
        dataset = Subset(dataset, range(info.rank, len(dataset), info.world))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    generator = torch.Generator(device).manual_seed(seed + info.rank)
    totals: dict[str, torch.Tensor] = {}
    for batch in tqdm(loader, desc="validation", disable=not progress, leave=False):
        batch = {k: v.to(device) for k, v in batch.items()}
        for key, value in _batch_figures(model, body, batch, n, generator, temperature).items():
            totals[key] = totals.get(key, 0.0) + value.double()
    if not totals:
        raise ValueError("evaluate: the dataset is empty")
    keys = sorted(totals)
    reduced = dict(zip(keys, all_reduce_sum(torch.stack([totals[k] for k in keys]), info).tolist()))
    counts = {"count", *_PER_KEYPOINT.values()}
    return {key: value / max(reduced[_PER_KEYPOINT.get(key, "count")], 1.0)
            for key, value in reduced.items() if key not in counts}
