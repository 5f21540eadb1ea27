"""Gaussian smoothing of image batches (used for blurred occluders and dream regularisation)."""

import math

import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian kernel [2·ceil(3σ)+1] for standard deviation ``sigma`` (pixels)."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur ``x`` [N, C, H, W] with a Gaussian of ``sigma`` pixels per channel, reflecting at the
    borders (the output has the same shape; ``sigma`` ≤ 0 returns ``x`` unchanged)."""
    if sigma <= 0:
        return x
    kernel = gaussian_kernel(sigma).to(x.device, x.dtype)
    radius = kernel.numel() // 2
    channels = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    rows = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    cols = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode=mode), rows, groups=channels)
    return F.conv2d(F.pad(x, (radius, radius, 0, 0), mode=mode), cols, groups=channels)
