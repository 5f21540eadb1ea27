"""Packing many small maps (filters, feature maps) into one image for fast display.

A grid of hundreds of maps is drawn as one image (an atlas) instead of hundreds of widgets; the
:class:`Atlas` also maps a pixel of that image back to the map under it, for hovering and clicks.
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Atlas:
    """``image`` [rows·(h+pad)-pad, columns·(w+pad)-pad] (or with a trailing colour axis) holding
    ``count`` tiles of ``tile`` = (h, w) pixels in ``columns`` columns; ``order[i]`` is the index of
    the map drawn in slot ``i`` (row-major). Gaps hold ``fill``."""

    image: np.ndarray
    count: int
    columns: int
    tile: tuple[int, int]
    pad: int
    order: tuple[int, ...]

    def slot_at(self, row: float, col: float) -> int | None:
        """Map index under atlas pixel (row, col), or None over a gap or outside."""
        if row < 0 or col < 0:
            return None
        height, width = self.tile
        grid_row, inside_row = divmod(int(row), height + self.pad)
        grid_col, inside_col = divmod(int(col), width + self.pad)
        if inside_row >= height or inside_col >= width or grid_col >= self.columns:
            return None
        slot = grid_row * self.columns + grid_col
        return self.order[slot] if slot < self.count else None

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left atlas pixel (row, col) of map ``index``."""
        slot = self.order.index(index)
        grid_row, grid_col = divmod(slot, self.columns)
        return grid_row * (self.tile[0] + self.pad), grid_col * (self.tile[1] + self.pad)


def make_atlas(tiles: np.ndarray, columns: int | None = None, pad: int = 1, fill: float = np.nan,
               order: list[int] | None = None) -> Atlas:
    """Pack ``tiles`` [N, h, w] or [N, h, w, C] into one :class:`Atlas`, in ``order`` (default 0..N-1).

    ``columns`` defaults to a near-square grid. Tiles keep their values (float32); gaps are ``fill``.
    """
    count = tiles.shape[0]
    order = list(range(count)) if order is None else list(order)
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    height, width = tiles.shape[1:3]
    shape = (rows * (height + pad) - pad, columns * (width + pad) - pad) + tuple(tiles.shape[3:])
    image = np.full(shape, fill, dtype=np.float32)
    for slot, index in enumerate(order):
        grid_row, grid_col = divmod(slot, columns)
        top, left = grid_row * (height + pad), grid_col * (width + pad)
        image[top:top + height, left:left + width] = tiles[index]
    return Atlas(image, count, columns, (height, width), pad, tuple(order))
