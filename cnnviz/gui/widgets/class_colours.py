"""Distinct colours for class indices, shared by the categorical occlusion map, the invariance pane's
top-1 class strip and the feature-space maps, and the HTML legend that names them.

:data:`PALETTE` is a fixed list of categorical colours picked greedily for the largest smallest
CIEDE2000 colour difference to those before it, among vivid colours (CIELAB chroma ≥ 30) of lightness
30–78 (visible on white and over images): any two differ by ΔE₀₀ ≥ 19, the first ten by ≥ 26. A view
showing a few of many classes (a 1000-class model's top-1 classes) colours them in order of first
appearance with :func:`colours_in_order`, so that its first :data:`PALETTE` classes never share a
colour; a view of a dataset's few classes uses the fixed :func:`class_colour` of each index.
"""

from collections.abc import Iterable
from html import escape
from typing import cast

import numpy as np
from PySide6.QtGui import QColor

from cnnviz.core.model.models import class_name
from cnnviz.core.per_dataset.class_palette import PALETTE


def class_colour(index: int) -> QColor:
    """The fixed colour of class ``index`` (≥ 0): :data:`PALETTE` entry ``index`` mod its length."""
    return QColor(PALETTE[index % len(PALETTE)])


def colours_in_order(classes: Iterable[int]) -> dict[int, QColor]:
    """Colours of the classes (indices ≥ 0; -1 is skipped) in ``classes``: :data:`PALETTE` entries
    in order of each class's first appearance (repeating after the last). A view that grows in
    order (a run filling in positions or values) keeps the colours it has shown."""
    colours: dict[int, QColor] = {}
    for index in classes:
        index = int(index)
        if index >= 0 and index not in colours:
            colours[index] = QColor(PALETTE[len(colours) % len(PALETTE)])
    return colours


def class_image(classes: np.ndarray, colours: dict[int, QColor]) -> np.ndarray:
    """A map of class indices [h, w] (-1: not computed) as RGBA pixels [h, w, 4] (uint8) in
    ``colours`` (every index ≥ 0 of the map must have one); cells without a class are transparent."""
    pixels = np.zeros(classes.shape + (4,), dtype=np.uint8)
    for index in np.unique(classes[classes >= 0]):
        # QColor.getRgb() gives (r, g, b, a); the stubs say only "object".
        pixels[classes == index] = cast(tuple[int, int, int, int], colours[int(index)].getRgb())
    return pixels


def legend_html(counts: dict[int, int], names: list[str], colours: dict[int, QColor], unit: str = "") -> str:
    """A legend of squares in ``colours``, one per class in ``counts`` (index -> occurrences, most
    frequent first), each followed by its name and, with ``unit`` (a plural noun), the count (e.g.
    ``12 positions``; ``1 position``)."""
    items = []
    for index, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = class_name(names, index)
        noun = unit[:-1] if count == 1 and unit.endswith("s") else unit
        suffix = f" ({count} {noun})" if unit else ""
        items.append(f'<span style="color:{colours[index].name()}">■</span>&nbsp;'
                     f"{escape(name)}{suffix}")
    return " &nbsp; ".join(items)


def class_counts(classes: np.ndarray) -> dict[int, int]:
    """How often each class index (≥ 0) occurs in ``classes``."""
    values, counts = np.unique(classes[classes >= 0], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}
