"""ActNorm (Glow): a per-feature affine map with data-dependent initialisation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Transform, feature_view_shape, spatial_size


class ActNorm(Transform):
    """``y = (x − loc) · exp(log_scale)`` per feature (dim 1) of ``(B, D)`` or ``(B, C, H, W)`` input.

    On the first :meth:`forward` call the parameters are set so that this batch has zero mean and
    unit standard deviation per feature (over the batch and, for images, all positions). The std is
    floored at ``eps · max(1, |mean|)`` so a constant feature gives finite values. The
    ``initialized`` flag is a buffer, so a model restored with ``load_state_dict`` does not
    re-initialise; it is read once (and again after a ``load_state_dict``), not on every call, since
    reading a buffer waits for the device. log |det| = ``H·W · Σ log_scale`` (``H·W = 1`` for vectors).
    """

    def __init__(self, features: int, eps: float = 1e-6) -> None:
        super().__init__()
        if features < 1:
            raise ValueError(f"ActNorm needs features ≥ 1, got {features}")
        self.features = features
        self.eps = eps
        self.loc = nn.Parameter(torch.zeros(features))
        self.log_scale = nn.Parameter(torch.zeros(features))
        self.register_buffer("initialized", torch.tensor(False))
        self._ready = False  # ``initialized`` was read and is true

    def _load_from_state_dict(self, *args, **kwargs):
        self._ready = False
        super()._load_from_state_dict(*args, **kwargs)

    def _check(self, x: Tensor) -> tuple[int, ...]:
        view = feature_view_shape(x)
        if x.shape[1] != self.features:
            raise ValueError(f"ActNorm expects {self.features} features on dim 1, got shape {tuple(x.shape)}")
        return view

    @torch.no_grad()
    def _initialize(self, x: Tensor) -> None:
        per_feature = x.transpose(0, 1).reshape(self.features, -1)
        mean = per_feature.mean(dim=1)
        std = per_feature.std(dim=1, unbiased=False)
        floor = self.eps * mean.abs().clamp_min(1.0)
        self.loc.copy_(mean)
        self.log_scale.copy_(-torch.maximum(std, floor).log())
        self.initialized.fill_(True)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        view = self._check(x)
        if not self._ready:
            if not bool(self.initialized):
                self._initialize(x)
            self._ready = True
        y = (x - self.loc.view(view)) * self.log_scale.exp().view(view)
        return y, self._logabsdet(x)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        view = self._check(y)
        x = y * (-self.log_scale).exp().view(view) + self.loc.view(view)
        return x, -self._logabsdet(y)

    def _logabsdet(self, x: Tensor) -> Tensor:
        return (self.log_scale.sum() * spatial_size(x)).expand(x.shape[0])

    def has_constant_logabsdet(self) -> bool:
        return True

    def extra_repr(self) -> str:
        return f"features={self.features}, eps={self.eps}"
