"""The pictures of the Fig. 2 views: a unit's hits as one atlas, its 3×3 deconvnet projections left of
its 3×3 receptive-field patches (Zeiler & Fergus 2014, Fig. 2).

Tiles 0–8 of a unit atlas are the projections of hits 0–8 (best first, row by row), tiles 9–17 the
patches of the same hits, and tiles 18–20 the blank column between the two blocks; a unit with fewer
than 9 hits leaves the rest blank (NaN, drawn as the background).
"""

import numpy as np

from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.core.per_image import deconv
from cnnviz.gui.widgets.atlas_view import tile_gap

HITS = 9
"""Hits a unit shows (3×3)."""
SIDE = 3
COLUMNS = 2 * SIDE + 1
"""Tile columns of a unit atlas: three projections, a blank, three patches."""


def hit_of_tile(index: int) -> int | None:
    """The hit rank (0 = best) that atlas tile ``index`` shows, None for a blank tile."""
    return index % HITS if 0 <= index < 2 * HITS else None


def tile_order() -> list[int]:
    """The tile drawn in each slot of a unit atlas, row by row (see the module docstring)."""
    order = []
    for row in range(SIDE):
        order += [row * SIDE + col for col in range(SIDE)]
        order.append(2 * HITS + row)
        order += [HITS + row * SIDE + col for col in range(SIDE)]
    return order


def _planes(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """[h, w, C] arrays as [h, w] for one channel, else as they are."""
    return [a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a for a in arrays]


def unit_tiles(patches: list[HitPatch], input_size: tuple[int, int]) -> np.ndarray:
    """The 21 tiles of a unit atlas [21, h, w(, 3)] float32 in [0, 1] (NaN: blank): projections, patches
    and blanks of ``patches`` (≤ 9 hits, best first) of a model whose input is ``input_size`` (h, w)."""
    boxes = [p.box for p in patches]
    projections = deconv.field_tiles(_planes([p.projection for p in patches]), boxes, input_size)
    crops = deconv.field_tiles(_planes([p.patch for p in patches]), boxes, input_size)
    tiles = np.full((2 * HITS + SIDE, *projections.shape[1:]), np.nan, dtype=np.float32)
    tiles[:len(patches)] = projections[:HITS]
    tiles[HITS:HITS + len(patches)] = crops[:HITS]
    return tiles


def unit_atlas(patches: list[HitPatch], input_size: tuple[int, int]) -> Atlas:
    """The atlas of one unit's hits (see the module docstring); ``patches`` must not be empty."""
    tiles = unit_tiles(patches, input_size)
    return make_atlas(tiles, columns=COLUMNS, pad=tile_gap(tiles.shape[1:3]), order=tile_order())
