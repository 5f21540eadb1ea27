"""Every plot axis and colour bar of the window labels its ticks with the values: none rescales them
by a power of 1000 with an "(x0.001)" in its label (pyqtgraph's automatic SI prefix)."""

import numpy as np
import pyqtgraph as pg
import pytest

from cnnviz.gui.widgets.axes import plain_axes


def axes_of(window) -> list[pg.AxisItem]:
    return [item for view in window.findChildren(pg.GraphicsView) for item in view.scene().items()
            if isinstance(item, pg.AxisItem)]


def test_no_axis_of_any_pane_rescales_its_values(window):
    axes = axes_of(window)
    owners = {type(axis.parentItem()).__name__ for axis in axes}
    assert len(axes) >= 20 and {"PlotItem", "ColorBarItem"} <= owners
    assert [axis for axis in axes if axis.autoSIPrefix] == []


@pytest.mark.parametrize("high", [8e-4, 0.06, 0.8, 60.0, 6e4, 3e9])
def test_a_plain_axis_shows_the_values_themselves(qtbot, high):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plain_axes(plot)
    plot.setLabel("left", "distance")
    plot.plot(np.linspace(0, 1, 5), np.linspace(0, high, 5))
    axis = plot.getAxis("left")
    axis.setRange(0, high)
    assert axis.labelString().endswith(">distance </span>")
    for spacing, ticks in axis.tickValues(0, high, 300):
        labels = axis.tickStrings(ticks, axis.autoSIPrefixScale * axis.scale, spacing)
        assert [float(label) for label in labels] == pytest.approx(ticks, rel=1e-6, abs=spacing * 1e-3)
