"""Class colours: the palette's colours are far apart (CIEDE2000), the classes of a view get them in
order of first appearance, and the class map and legend use the colours given."""

import numpy as np
import pytest
from colour_difference import delta_e2000, smallest_difference, srgb_to_lab
from PySide6.QtGui import QColor

from cnnviz.gui.widgets.class_colours import PALETTE, class_colour, class_image, colours_in_order, legend_html

# Sharma, Wu & Dalal (2005), Table 1: (Lab 1, Lab 2, ΔE00)
REFERENCE_PAIRS = [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
                   ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
                   ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
                   ((50.0, 2.5, 0.0), (50.0, 3.2592, 0.3350), 1.0000),
                   ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
                   ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373)]


def test_the_colour_difference_matches_the_published_pairs():
    for lab1, lab2, expected in REFERENCE_PAIRS:
        assert float(delta_e2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    assert srgb_to_lab(np.array([255.0, 255.0, 255.0])) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)


def test_palette_colours_are_far_apart_and_visible():
    assert len(set(PALETTE)) == len(PALETTE) == 20
    assert smallest_difference(list(PALETTE)) >= 19
    assert smallest_difference(list(PALETTE[:10])) >= 26
    lightness = srgb_to_lab(np.array([QColor(c).getRgb()[:3] for c in PALETTE], dtype=float))[:, 0]
    assert lightness.min() >= 29 and lightness.max() <= 79


def test_classes_get_colours_in_order_of_first_appearance():
    colours = colours_in_order([248, -1, 3, 248, 999, 3, 7])
    assert list(colours) == [248, 3, 999, 7]
    assert [c.name() for c in colours.values()] == list(PALETTE[:4])
    many = colours_in_order(range(1000, 1000 + len(PALETTE) + 1))
    names = [c.name() for c in many.values()]
    assert len(set(names[:len(PALETTE)])) == len(PALETTE) and names[-1] == PALETTE[0]
    assert class_colour(3).name() == PALETTE[3] and class_colour(len(PALETTE) + 3).name() == PALETTE[3]


def test_class_image_and_legend_use_the_colours_given():
    classes = np.array([[5, -1], [9, 5]])
    colours = colours_in_order(classes.ravel())
    pixels = class_image(classes, colours)
    assert pixels[0, 0].tolist() == list(QColor(PALETTE[0]).getRgb())
    assert pixels[1, 0].tolist() == list(QColor(PALETTE[1]).getRgb()) and pixels[0, 1, 3] == 0
    legend = legend_html({5: 2, 9: 1}, ["c"] * 10, colours, "positions")
    assert legend.index(PALETTE[0]) < legend.index("c (2 positions)") < legend.index(PALETTE[1])
    assert "c (1 position)" in legend
