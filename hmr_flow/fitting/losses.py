"""Loss terms of the fit, each returning one value per body ``(B,)`` so that a batch of independent
people (and initialisations) can be optimised together and compared afterwards.

Reprojection residuals are measured relative to the person's size in the image (``scale``, pixels:
the larger side of the visible keypoints' bounding box), so the same weights work for a 50-pixel
person and a 1000-pixel one.
"""

from __future__ import annotations

import torch


def geman_mcclure(residual_sq: torch.Tensor, sigma: float) -> torch.Tensor:
    """Geman–McClure robust cost ``σ² r² / (σ² + r²)`` of squared residuals ``r²`` (any shape).

    Quadratic (≈ ``r²``) for ``|r| ≪ σ``, saturating at ``σ²`` for outliers.
    """
    sigma_sq = sigma * sigma
    return sigma_sq * residual_sq / (sigma_sq + residual_sq)


def person_scale(keypoints: torch.Tensor, min_scale: float = 10.0) -> torch.Tensor:
    """``(B,)`` pixels: the larger side of the bounding box of keypoints with confidence > 0.

    Args:
        keypoints: ``(B, K, 3)`` ``(u, v, confidence)``.
    """
    visible = keypoints[..., 2:3] > 0
    big = torch.finfo(keypoints.dtype).max
    low = torch.where(visible, keypoints[..., :2], big).amin(dim=1)
    high = torch.where(visible, keypoints[..., :2], -big).amax(dim=1)
    return (high - low).amax(dim=1).clamp(min=min_scale)


def reprojection_loss(
    projected: torch.Tensor,
    keypoints: torch.Tensor,
    keypoint_weights: torch.Tensor,
    scale: torch.Tensor,
    robust_sigma: float,
    noise_sigma: float,
) -> torch.Tensor:
    """Robust confidence-weighted reprojection cost, ``(B,)``.

    ``Σ_k w_k c_k ρ(‖p_k − u_k‖ / s) / (2 σ_n²)`` with ρ Geman–McClure of scale ``robust_sigma``
    (a fraction of the person size ``s``). Dividing by ``2 σ_n²`` (``noise_sigma``, also a fraction
    of ``s``) makes the term a Gaussian negative log-likelihood for small residuals, so it adds to a
    prior's negative log-likelihood in the same units (nats).

    Args:
        projected: ``(B, K, 2)`` model keypoints in pixels.
        keypoints: ``(B, K, 3)`` observed ``(u, v, confidence)``.
        keypoint_weights: ``(K,)`` per-keypoint weights (e.g. hips down-weighted, 0 = unused).
        scale: ``(B,)`` person size in pixels.
    """
    residual = (projected - keypoints[..., :2]) / scale[:, None, None]
    cost = geman_mcclure(residual.square().sum(-1), robust_sigma)
    weights = keypoints[..., 2] * keypoint_weights
    return (weights * cost).sum(-1) / (2.0 * noise_sigma**2)


def shape_loss(betas: torch.Tensor) -> torch.Tensor:
    """``‖β‖²`` per body ``(B,)`` (betas are unit-variance PCA coefficients)."""
    return betas.square().sum(-1)


def depth_anchor_loss(transl: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """``(t_z − z₀)²`` per body ``(B,)``: keeps the camera distance near its torso-based estimate
    while only the torso constrains it."""
    return (transl[:, 2] - depth).square()
