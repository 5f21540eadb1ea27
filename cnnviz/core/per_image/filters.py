"""Convolution filters: weights, per-filter statistics and images of them for display."""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.model.loaded_model import LoadedModel


@dataclass(frozen=True)
class FilterStats:
    """Statistics of one filter [in, kH, kW]: its index, shape, L2 norm, min and max weight."""

    index: int
    shape: tuple[int, int, int]
    norm: float
    min: float
    max: float


def conv_layers(model: LoadedModel) -> list[str]:
    """Names of the 2-D convolution layers, in forward order."""
    modules = dict(model.module.named_modules())
    return [name for name in model.layer_names() if isinstance(modules[name], nn.Conv2d)]


def weights(model: LoadedModel, layer: str) -> torch.Tensor:
    """Filters of conv layer ``layer`` as a float32 CPU copy [out, in/groups, kH, kW]."""
    module = dict(model.module.named_modules()).get(layer)
    if not isinstance(module, nn.modules.conv._ConvNd) or module.weight.dim() != 4:
        raise ValueError(f"{layer!r} is not a 2-D convolution layer of {model.name}")
    return module.weight.detach().float().cpu().clone()


def stats(filters: torch.Tensor) -> list[FilterStats]:
    """Per-filter statistics of weights [out, in, kH, kW]."""
    flat = filters.flatten(1)
    norms, lows, highs = flat.norm(dim=1), flat.min(dim=1).values, flat.max(dim=1).values
    shape = (int(filters.shape[1]), int(filters.shape[2]), int(filters.shape[3]))
    return [FilterStats(i, shape, float(norms[i]), float(lows[i]), float(highs[i]))
            for i in range(filters.shape[0])]


def view_values(filters: torch.Tensor, view: str = "auto", channel: int = 0) -> torch.Tensor:
    """The weight values a ``view`` of filters [out, in, kH, kW] shows, unscaled (float32): ``"rgb"``
    [out, kH, kW, 3] (3 input channels), ``"channel"`` input channel ``channel`` [out, kH, kW],
    ``"norm"`` the L2 norm over input channels [out, kH, kW]; ``"auto"`` is ``"rgb"`` for 3 input
    channels, else ``"channel"``."""
    if view == "auto":
        view = "rgb" if filters.shape[1] == 3 else "channel"
    if view == "rgb":
        if filters.shape[1] != 3:
            raise ValueError(f"an RGB view needs 3 input channels, these filters have {filters.shape[1]}")
        values = filters.permute(0, 2, 3, 1)
    elif view == "channel":
        if not 0 <= channel < filters.shape[1]:
            raise IndexError(f"input channel {channel} out of range 0..{filters.shape[1] - 1}")
        values = filters[:, channel]
    elif view == "norm":
        values = filters.norm(dim=1)
    else:
        raise ValueError(f"view must be auto, rgb, channel or norm, not {view!r}")
    return values.float()


def view_ranges(filters: torch.Tensor, view: str = "auto", channel: int = 0) -> np.ndarray:
    """Each filter's lowest and highest shown value (:func:`view_values`), [out, 2] float32: the
    weights (or norms) that :func:`filter_images` maps to 0 and 1 when scaling per filter."""
    flat = view_values(filters, view, channel).flatten(1)
    return torch.stack([flat.min(dim=1).values, flat.max(dim=1).values], dim=1).numpy()


def filter_images(filters: torch.Tensor, view: str = "auto", channel: int = 0,
                  per: str = "filter") -> tuple[np.ndarray, tuple[float, float]]:
    """Images of every filter for display, and the weight range that maps to 0 and 1.

    ``view``: ``"rgb"`` shows a 3-input-channel filter as colour [out, kH, kW, 3]; ``"channel"``
    shows input channel ``channel`` [out, kH, kW]; ``"norm"`` shows the L2 norm over input channels
    at each kernel position [out, kH, kW]; ``"auto"`` is ``"rgb"`` for 3 input channels, else
    ``"channel"``. ``per``: ``"filter"`` scales each filter to its own min..max (the returned range
    is then the layer's, for reference), ``"layer"`` scales all filters by the layer's min..max.
    Values are in [0, 1].
    """
    values = view_values(filters, view, channel)
    layer_range = (float(values.min()), float(values.max()))
    if per == "layer":
        low = torch.full((values.shape[0],), layer_range[0])
        high = torch.full((values.shape[0],), layer_range[1])
    elif per == "filter":
        flat = values.flatten(1)
        low, high = flat.min(dim=1).values, flat.max(dim=1).values
    else:
        raise ValueError(f"per must be 'filter' or 'layer', not {per!r}")
    shape = (-1,) + (1,) * (values.dim() - 1)
    span = (high - low).clamp(min=1e-12).view(shape)
    scaled = ((values - low.view(shape)) / span).clamp(0, 1)
    return scaled.numpy(), layer_range
