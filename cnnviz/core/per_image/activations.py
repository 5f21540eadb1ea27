"""Feature maps of one layer for one image: statistics, orderings, dead channels, overlays."""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel statistics of a layer's output for one image, each an array [C]:
    ``mean`` and ``max`` activation, and ``zero_fraction`` (share of positions exactly 0)."""

    mean: np.ndarray
    max: np.ndarray
    zero_fraction: np.ndarray

    @property
    def dead(self) -> list[int]:
        """Channels that are zero everywhere for this image (they do not fire on this input)."""
        return [int(i) for i in np.flatnonzero(self.zero_fraction >= 1.0)]


def channel_stats(activation: torch.Tensor) -> ChannelStats:
    """Statistics of one image's activation [C, H, W] (or [C] for a vector output)."""
    values = activation.detach().float().cpu()
    flat = values.reshape(values.shape[0], -1)
    return ChannelStats(flat.mean(dim=1).numpy(), flat.max(dim=1).values.numpy(),
                        (flat == 0).float().mean(dim=1).numpy())


def channel_order(stats: ChannelStats, by: str = "index") -> list[int]:
    """Channel indices ordered by ``"index"``, or by ``"mean"``/``"max"`` activation (largest first)."""
    if by == "index":
        return list(range(len(stats.mean)))
    if by in ("mean", "max"):
        values = getattr(stats, by)
        return [int(i) for i in np.argsort(-values, kind="stable")]
    raise ValueError(f"order must be index, mean or max, not {by!r}")


def upsample(feature_map: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of one map [h, w] to ``size`` (H, W), pixel centres aligned
    (``align_corners=False``), as float32 [H, W]."""
    values = feature_map.detach().float().cpu()[None, None]
    return F.interpolate(values, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()
