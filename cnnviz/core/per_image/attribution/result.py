"""What every attribution method returns: :class:`Attribution`, and the shared shape helpers.

A map is float32 on the CPU at the input's resolution [H, W]. Pixel methods keep their attributions
in input space [C, H, W] as ``raw`` and reduce the channels to the map with one of
:data:`REDUCTIONS`; CAMs keep the class activation map at the layer's resolution [h, w] as ``raw``
and upsample it bilinearly to the input.
"""

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

REDUCTIONS = ("sum", "abs_sum", "abs_max", "l2")
"""How a pixel method's [C, H, W] attributions become one value per pixel: the signed sum over
channels, the sum or the largest of their absolute values (Simonyan et al. 2014), or their L2 norm."""


@dataclass(frozen=True)
class Attribution:
    """One attribution map of ``method`` for class ``target`` (an output index) of one image.

    ``map``: [H, W] float32 on the CPU, at the input's resolution; larger means more evidence for the
    target (signed methods can be negative: see :attr:`signed`). ``raw``: the method's own output,
    [h, w] at ``layer``'s resolution for CAMs, [C, H, W] in input space for pixel methods.
    ``params``: every parameter that changed the result, defaults included (for captions).
    ``completeness_gap``: for integrated gradients, |Σ raw − (f(x) − f(baseline))| / |f(x) − f(baseline)|
    on the target logit (0 is exact); None for other methods. ``unhandled``: nonlinearities without a
    rule for a guided or deconvnet pass (see :class:`cnnviz.core.per_image.deconv.Projection`).
    """

    map: torch.Tensor
    raw: torch.Tensor
    method: str
    target: int
    layer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    completeness_gap: float | None = None
    unhandled: tuple[str, ...] = ()

    @property
    def signed(self) -> bool:
        """True when the map's sign means something (negative = evidence against the target)."""
        return bool(self.map.min() < 0)

    def caption(self) -> str:
        """The method, layer and parameters in one line, e.g. ``"gradcam · features.12"``."""
        parts = [self.method] + ([self.layer] if self.layer else [])
        parts += [f"{key}={_short(value)}" for key, value in self.params.items()]
        return " · ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def reduce_channels(raw: torch.Tensor, how: str) -> torch.Tensor:
    """Attributions [C, H, W] -> map [H, W] by one of :data:`REDUCTIONS`."""
    if how == "sum":
        return raw.sum(0)
    if how == "abs_sum":
        return raw.abs().sum(0)
    if how == "abs_max":
        return raw.abs().amax(0)
    if how == "l2":
        return raw.pow(2).sum(0).sqrt()
    raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, not {how!r}")


def upsampled(cam: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A layer-resolution map [h, w] upsampled bilinearly (half-pixel centres) to ``size`` (H, W)."""
    if tuple(cam.shape) == tuple(size):
        return cam.clone()
    return F.interpolate(cam[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]


def finished(map_: torch.Tensor, raw: torch.Tensor, method: str, target: int, **fields: Any) -> Attribution:
    """An :class:`Attribution` with ``map`` and ``raw`` detached, float32, on the CPU."""
    return Attribution(map_.detach().float().cpu(), raw.detach().float().cpu(), method, target, **fields)
