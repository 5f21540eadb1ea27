"""What the Occlusion pane shows under the mouse: the occluder over the hovered map cell and the input it
occludes (the fill image computed once per occluder)."""

import numpy as np
import torch

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import occlusion
from cnnviz.core.per_image.occlusion import OcclusionResult
from cnnviz.gui.widgets.image_view import image_array


def occluder_at(maps: OcclusionResult, row: int, col: int) -> tuple[int, int, int, int, int, int]:
    """The map cell (i, j) over input pixel (``row``, ``col``) and its occluder's box (top, left, bottom, right
    input pixels, bottom/right exclusive)."""
    i, j = occlusion.cell_at(maps, row, col)
    top, left = int(maps.positions[0][i]), int(maps.positions[1][j])
    return i, j, top, left, top + maps.window, left + maps.window


class OccludedInput:
    """The input occluded at a position, as shown: the fill image is kept for the latest occluder (window,
    fill and seed of one model's input) until :meth:`clear`."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._fill: torch.Tensor | None = None

    def clear(self) -> None:
        """Forget the fill image (a new run, image or model)."""
        self._key = self._fill = None

    def pixels(self, model: LoadedModel, x: torch.Tensor, maps: OcclusionResult, seed: int, top: int,
               left: int) -> np.ndarray:
        """``x`` [1, C, H, W] of ``model`` occluded by the occluder of ``maps`` (noise ``seed``) with its top-left
        corner at (``top``, ``left``) input pixels, as shown: [H, W] or [H, W, 3] uint8."""
        key = (maps.window, maps.fill, seed)
        if self._fill is None or self._key != key:
            self._key = key
            self._fill = occlusion.fill_image(model, x, fill=maps.fill, window=maps.window, seed=seed)
        example = occlusion.occluded(x, self._fill, top, left, maps.window)
        return image_array(model.deprocess(example))
