"""The SMPLify-style baseline: an 8-component full-covariance Gaussian mixture over canonical axis-angle.

- ``log_prob``: the full mixture density (nats per pose, the space of :mod:`hmr_flow.prior.space`).
- ``loss``: SMPLify's max-component cost, ``min_k [−log w_k − log N(x; μ_k, Σ_k)]`` — the negative log of
  the most likely weighted component (≥ −log_prob), which keeps gradients from mixing components.
- ``sample(n, temperature)``: component ``k ~ w``, then ``μ_k + T · L_k ε`` (``Σ_k = L_k L_kᵀ``).

Stored as plain arrays in an ``.npz`` (no pickles): ``weights (K,)``, ``means (K, D)``,
``covariances (K, D, D)``, ``joints (J,)``, ``percentiles (1001,)``, ``info`` (JSON string).
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hmr_flow.prior.base import DensityPrior
from hmr_flow.prior.space import PoseSpace
from hmr_flow.files import save_npz
from hmr_flow.validation import UserInputError, check_input_file, wrong_kind
from hmr_flow.validation.file_kinds import GMM_PRIOR

FORMAT = "hmr_flow.prior.gmm/1"


class GMMPrior(DensityPrior):
    """Gaussian mixture over the modelled joints' canonical axis-angle ``(B, 3J)``.

    Args:
        weights: ``(K,)`` summing to 1; means: ``(K, D)``; covariances: ``(K, D, D)`` positive definite,
        ``D = 3J``; joints: modelled body-joint indices; percentiles: held-out table or ``None``;
        info: free-form provenance (training data, split) saved with the prior.
    """

    kind = "gmm"
    fit_weight = 0.2

    def __init__(self, weights, means, covariances, joints: list[int], percentiles=None, info: dict | None = None):
        super().__init__(PoseSpace(joints, "axis_angle"), percentiles)
        weights, means, covariances = (torch.as_tensor(np.asarray(a), dtype=torch.float64)
                                       for a in (weights, means, covariances))
        k, d = means.shape
        if weights.shape != (k,) or covariances.shape != (k, d, d) or d != self.space.features:
            raise ValueError(f"GMM arrays disagree: weights {tuple(weights.shape)}, means {tuple(means.shape)}, "
                             f"covariances {tuple(covariances.shape)}, {self.space.features} features expected")
        if not (torch.isfinite(means).all() and torch.isfinite(covariances).all() and (weights > 0).all()):
            raise ValueError("GMM arrays must be finite with positive weights")
        chol, failed = torch.linalg.cholesky_ex(covariances)
        if failed.any():
            raise ValueError(f"GMM covariances {failed.nonzero().squeeze(1).tolist()} are not positive definite")
        self.info = dict(info or {})
        self.register_buffer("weights", weights / weights.sum())
        self.register_buffer("means", means)
        self.register_buffer("covariances", covariances)
        self.register_buffer("cholesky", chol, persistent=False)
        self.register_buffer("log_norm", -0.5 * d * math.log(2 * math.pi) - chol.diagonal(dim1=-2, dim2=-1).log().sum(-1),
                             persistent=False)

    def component_log_prob(self, x: Tensor) -> Tensor:
        """``log w_k + log N(x; μ_k, Σ_k)`` ``(B, K)`` for model coordinates ``x (B, D)``."""
        diff = (x.double()[:, None, :] - self.means[None]).unsqueeze(-1)
        white = torch.linalg.solve_triangular(self.cholesky[None], diff, upper=False).squeeze(-1)
        return self.weights.log() + self.log_norm - 0.5 * white.pow(2).sum(-1)

    def _model_log_prob(self, x: Tensor) -> Tensor:
        return torch.logsumexp(self.component_log_prob(x), dim=1).to(x.dtype)

    def loss(self, body_pose) -> Tensor:
        """SMPLify's max-component cost ``(B,)`` (see the module docstring), differentiable."""
        x, log_jacobian = self.encode(body_pose, check_finite=False)  # see PosePrior.loss
        return -(self.component_log_prob(x).amax(dim=1).to(x.dtype) + log_jacobian)

    def _sample_model(self, n: int, temperature: float) -> Tensor:
        component = torch.multinomial(self.weights, n, replacement=True)
        noise = torch.randn(n, self.means.shape[1], 1, dtype=torch.float64, device=self.means.device)
        x = self.means[component] + temperature * (self.cholesky[component] @ noise).squeeze(-1)
        return x.float()

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` described in the module docstring, atomically."""
        return save_npz({
            "format": np.array(FORMAT), "weights": self.weights.cpu().numpy(), "means": self.means.cpu().numpy(),
            "covariances": self.covariances.cpu().numpy(), "joints": self.space.joints.cpu().numpy(),
            "percentiles": self.percentiles.cpu().numpy(), "info": np.array(json.dumps(self.info)),
        }, path)

    @classmethod
    def load(cls, path: str | Path) -> GMMPrior:
        """Read a file written by :meth:`save`; errors name the file."""
        path = check_input_file(path, "GMM prior")
        if (message := wrong_kind(path, GMM_PRIOR, "GMM prior")) is not None:
            raise UserInputError(message)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
            raise UserInputError(f"{path}: not a readable GMM prior .npz ({err})") from None
        for key in ("weights", "means", "covariances"):
            if key in arrays and not (arrays[key].dtype.kind == "f" and np.isfinite(arrays[key]).all()):
                raise UserInputError(f"{path}: GMM prior {key!r} must be finite floating-point numbers")
        if str(arrays.get("format", "")) != FORMAT:
            raise UserInputError(f"{path}: not a GMM prior file (format {arrays.get('format')!r}, expected {FORMAT!r})")
        try:
            percentiles = arrays["percentiles"] if arrays["percentiles"].size else None
            return cls(arrays["weights"], arrays["means"], arrays["covariances"], arrays["joints"].tolist(),
                       percentiles, json.loads(str(arrays["info"])))
        except (KeyError, ValueError) as err:
            raise UserInputError(f"{path}: invalid GMM prior ({err})") from None


def fit_gmm(x: np.ndarray, joints: list[int], components: int = 8, seed: int = 0, info: dict | None = None) -> GMMPrior:
    """Fit a full-covariance mixture (scikit-learn EM, k-means init) to model coordinates ``x (N, 3J)``."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-4, max_iter=300, n_init=1, random_state=seed)
    gmm.fit(np.asarray(x, dtype=np.float64))
    if not gmm.converged_:
        raise RuntimeError(f"GMM EM did not converge in {gmm.max_iter} iterations")
    return GMMPrior(gmm.weights_, gmm.means_, gmm.covariances_, joints, info=info)
