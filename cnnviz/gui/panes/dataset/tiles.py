"""The pictures of the Fig. 2 views: a unit's hits as one atlas, its 3×3 deconvnet projections left of
its 3×3 receptive-field patches (Zeiler & Fergus 2014, Fig. 2), laid out from the scan analysis's pictures
(:attr:`cnnviz.analyses.scan.ScanAnalysis.projections` and ``patches``, each crop already in its tile).

Tiles 0–8 of a unit atlas are the projections of hits 0–8 (best first, row by row), tiles 9–17 the
patches of the same hits, and tiles 18–20 the blank column between the two blocks; a unit with fewer
than 9 hits leaves the rest blank (NaN, drawn as the background).
"""

import numpy as np

from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
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


def unit_tiles(projections: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """The 21 tiles of a unit atlas [21, h, w(, 3)] float32 in [0, 1] (NaN: blank) from one unit's
    ``projections`` and ``patches`` [k, h, w(, 3)] (a slot of :class:`~cnnviz.analyses.scan.ScanAnalysis`'s
    pictures, best first; its first 9 hits shown)."""
    shown = min(HITS, len(projections))
    tiles = np.full((2 * HITS + SIDE, *projections.shape[1:]), np.nan, dtype=np.float32)
    tiles[:shown] = projections[:shown]
    tiles[HITS:HITS + shown] = patches[:shown]
    return tiles


def unit_atlas(projections: np.ndarray, patches: np.ndarray) -> Atlas:
    """The atlas of one unit's hits (see the module docstring) from its ``projections`` and ``patches``
    [k, h, w(, 3)]."""
    tiles = unit_tiles(projections, patches)
    return make_atlas(tiles, columns=COLUMNS, pad=tile_gap(tiles.shape[1:3]), order=tile_order())
