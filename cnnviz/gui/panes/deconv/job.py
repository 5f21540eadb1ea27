"""The background side of the Deconvnet pane: projections as worker jobs run by the analyses.

:func:`project_job` projects one unit with the deconv analysis and :func:`top_job` the :data:`TOP_K` strongest
channels of a layer with the top9 analysis (:mod:`cnnviz.analyses.deconv`, :mod:`cnnviz.analyses.top9`); each
answer carries the request it answers, so the pane can tell whether it is still the one shown.
"""

from dataclasses import dataclass

import torch

from cnnviz.analyses import deconv as unit_analysis
from cnnviz.analyses import top9
from cnnviz.analyses.base import Source, compute
from cnnviz.core.model.models import LoadedModel

TOP_K = top9.TOP_K
"""How many of a layer's strongest channels the top view projects."""

UnitRequest = tuple[LoadedModel, torch.Tensor, str, int | None, tuple[int, int] | None, str]
"""(model, input, layer, channel or None, position or None, method) of a single projection."""
TopRequest = tuple[LoadedModel, torch.Tensor, str, str]
"""(model, input, layer, method) of the top 9."""


@dataclass(frozen=True)
class Projected:
    """The analysis's ``result`` for ``request`` (a :data:`UnitRequest` or a :data:`TopRequest`)."""

    request: tuple
    result: unit_analysis.DeconvResult | top9.Top9Result


def project_job(request: UnitRequest, image_name: str, display: str) -> Projected:
    """The deconv analysis's projection of the unit ``request`` names, shown with ``display`` (compute worker)."""
    model, x, layer, channel, position, method = request
    row, col = position if position is not None else (None, None)
    settings = unit_analysis.Settings(layer=layer, method=method, display=display, channel=channel, row=row, col=col)
    return Projected(request, compute(unit_analysis.run(model, Source(image_name, x), settings)))


def top_job(request: TopRequest, image_name: str, display: str) -> Projected:
    """The top9 analysis's projections of the :data:`TOP_K` strongest channels ``request`` names, shown with
    ``display`` (compute worker)."""
    model, x, layer, method = request
    settings = top9.Settings(layer=layer, method=method, display=display)
    return Projected(request, compute(top9.run(model, Source(image_name, x), settings)))
