"""A small ResNet image encoder written here (no torchvision): ``(B, C, S, S)`` → ``(B, F)`` features.

Layout: 7×7 stride-2 stem → 3×3 stride-2 max-pool → one stage per width (the first at stride 1,
the others halving the resolution) of ``BasicBlock`` residual blocks → the final ``S/32 × S/32``
map is **flattened** (not average-pooled, so the feature keeps where the body is in the crop, which
the camera head needs) → linear → ReLU. ``S`` must be a multiple of 32.
"""

from __future__ import annotations

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """``conv3×3 → BN → ReLU → conv3×3 → BN`` plus a (projected when the shape changes) shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        nn.init.zeros_(self.body[-1].weight)  # each block starts as (nearly) the identity
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.body(x) + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """ResNet-style encoder.

    Args:
        in_channels: input channels (3 for RGB, plus 17 with keypoint heatmaps).
        image_size: side ``S`` of the square input (multiple of 32).
        widths: channels of each stage, e.g. ``(32, 64, 128, 256)``.
        blocks: residual blocks per stage (same length as ``widths``).
        feature_dim: ``F``, size of the output feature.

    ``forward(images (B, in_channels, S, S)) → (B, F)``.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        widths: tuple[int, ...],
        blocks: tuple[int, ...],
        feature_dim: int,
    ) -> None:
        super().__init__()
        if len(widths) != len(blocks) or not widths or min(blocks) < 1:
            raise ValueError(f"widths {widths} and blocks {blocks} must be non-empty, equally long, blocks ≥ 1")
        stride = 4 * 2 ** (len(widths) - 1)
        if image_size % stride or image_size < stride:
            raise ValueError(f"image_size {image_size} must be a positive multiple of {stride} for {len(widths)} stages")
        self.in_channels = in_channels
        self.image_size = image_size
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        ]
        previous = widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks)):
            for block in range(count):
                layers.append(BasicBlock(previous, width, 2 if index > 0 and block == 0 else 1))
                previous = width
        self.stages = nn.Sequential(*layers)
        final = image_size // stride
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(previous * final * final, feature_dim), nn.ReLU(inplace=True))
        self.feature_dim = feature_dim

    def forward(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or images.shape[1:] != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(
                f"images: expected (B, {self.in_channels}, {self.image_size}, {self.image_size}), got {tuple(images.shape)}"
            )
        return self.project(self.stages(images))
