"""The background side of the Deconvnet pane: projections as worker jobs, with their input crops.

:func:`project_job` projects one unit and :func:`top_job` the :data:`TOP_K` strongest channels of a
layer (:mod:`cnnviz.core.per_image.deconv`); each result carries the request it answers, so the pane can tell
whether it is still the one shown.
"""

from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.deconv import Projection
from cnnviz.gui.widgets.image_view import image_array

TOP_K = 9
"""How many of a layer's strongest channels the top view projects."""

Request = tuple
"""(model, input, layer, channel or None, position or None, method) of a single projection."""


@dataclass(frozen=True)
class ProjectionResult:
    """A single unit's ``projection`` for ``request``, the ``input_crop`` under its receptive field
    (8-bit pixels [h, w] or [h, w, 3]) and, when checked, the ``unhandled`` nonlinearities."""

    request: Request
    projection: Projection
    input_crop: np.ndarray
    unhandled: list[str] | None


@dataclass(frozen=True)
class TopResult:
    """The strongest channels' ``units`` (strongest first) for ``request`` (model, input, layer,
    method), their ``input_crops`` and, when checked, the ``unhandled`` nonlinearities."""

    request: tuple
    units: list[Projection]
    input_crops: list[np.ndarray]
    unhandled: list[str] | None


def input_crop(model: LoadedModel, x: torch.Tensor, box: tuple[int, int, int, int]) -> np.ndarray:
    """8-bit pixels of the input ``x`` inside ``box``, as the network sees them."""
    return image_array(model.deprocess(deconv.crop(x, box)))


def project_job(model: LoadedModel, x: torch.Tensor, layer: str, channel: int | None,
                position: tuple[int, int] | None, method: str, check: bool) -> ProjectionResult:
    """One projection with its input crop (compute worker); ``check`` also lists the model's
    nonlinearities without a rule for ``layer``."""
    projection = deconv.project_unit(model, x, layer=layer, channel=channel, position=position, method=method)
    unhandled = list(projection.unhandled) if check else None
    return ProjectionResult((model, x, layer, channel, position, method), projection,
                            input_crop(model, x, projection.box), unhandled)


def top_job(model: LoadedModel, x: torch.Tensor, layer: str, method: str, check: bool) -> TopResult:
    """The :data:`TOP_K` strongest channels' projections with their input crops (compute worker)."""
    units = deconv.top_units(model, x, layer=layer, k=TOP_K, method=method)
    unhandled = list(units[0].unhandled) if check and units else None
    return TopResult((model, x, layer, method), units, [input_crop(model, x, u.box) for u in units],
                     unhandled)
