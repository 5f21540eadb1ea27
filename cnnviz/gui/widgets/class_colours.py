"""Distinct colours for class indices, shared by the categorical occlusion map and the invariance
pane's top-1 class strip, and the HTML legend that names them."""

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from cnnviz.core.models import class_name


def class_colour(index: int) -> QColor:
    """A colour for class ``index`` (≥ 0); neighbouring indices get clearly different hues."""
    return pg.intColor(index, hues=10, values=2, minValue=170, maxValue=255)


def class_image(classes: np.ndarray) -> np.ndarray:
    """A map of class indices [h, w] (-1: not computed) as RGBA pixels [h, w, 4] (uint8); cells
    without a class are transparent."""
    pixels = np.zeros(classes.shape + (4,), dtype=np.uint8)
    for index in np.unique(classes[classes >= 0]):
        pixels[classes == index] = class_colour(int(index)).getRgb()
    return pixels


def legend_html(counts: dict[int, int], names: list[str], unit: str = "") -> str:
    """A legend of coloured squares, one per class in ``counts`` (index -> occurrences, most
    frequent first), each followed by its name and, with ``unit``, the count (e.g. ``12 positions``)."""
    items = []
    for index, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = class_name(names, index)
        suffix = f" ({count} {unit})" if unit else ""
        items.append(f'<span style="color:{class_colour(index).name()}">■</span>&nbsp;'
                     f"{escape(name)}{suffix}")
    return " &nbsp; ".join(items)


def class_counts(classes: np.ndarray) -> dict[int, int]:
    """How often each class index (≥ 0) occurs in ``classes``."""
    values, counts = np.unique(classes[classes >= 0], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}
