"""The Filters pane's worker job: a layer's filters drawn by the filters analysis, with their statistics and
the atlas the grid shows, so that layers with thousands of filters keep the window responsive."""

from dataclasses import dataclass

import torch

from cnnviz.analyses import filters as analysis
from cnnviz.analyses.base import Source
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
from cnnviz.core.per_image import filters
from cnnviz.core.per_image.filters import FilterStats
from cnnviz.gui.widgets.atlas_view import tile_gap


@dataclass(frozen=True, eq=False)
class FilterGrid:
    """The filters drawn for ``request`` (see :func:`grid_request`): ``result``, the analysis's partial result
    without a map (:func:`cnnviz.analyses.filters.drawn`), each filter's ``stats`` and the ``atlas`` of its
    images. Grids compare by identity (their request and result hold tensors, which have no truth value)."""

    request: tuple
    result: analysis.FiltersResult
    stats: list[FilterStats]
    atlas: Atlas


def grid_request(model: LoadedModel, x: torch.Tensor, settings: analysis.Settings) -> tuple:
    """What a grid is drawn for: the model, the input and the settings the drawing depends on
    (:data:`cnnviz.analyses.filters.DRAWING`)."""
    return model, x, *(getattr(settings, name) for name in analysis.DRAWING)


def filter_grid(model: LoadedModel, source: Source, settings: analysis.Settings) -> FilterGrid:
    """The filters ``settings`` ask for, drawn with their statistics and atlas (compute worker)."""
    result = analysis.drawn(model, source, settings)
    stats = filters.stats(torch.from_numpy(result.weights))
    atlas = make_atlas(result.images, pad=tile_gap(result.images.shape[1:3]))
    return FilterGrid(grid_request(model, source.input(), settings), result, stats, atlas)
