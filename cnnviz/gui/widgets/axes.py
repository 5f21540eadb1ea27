"""Plot axes whose ticks read as the values themselves.

By default a pyqtgraph axis without a unit rescales values below 1 (or from 10⁹ on) by a power of
1000 and says so in its label: an L2 norm of 0.3–0.8 reads "L2 norm (x0.001)" with ticks 300–800;
with a unit it would prefix the unit instead ("k°", "mpx"). Every axis of cnnviz goes through
:func:`plain_axis`: ticks show the values (in plain decimals, or scientific notation below 0.001 and
from 10 000 on), units stay in the label text ("rotation (°)").
"""

import pyqtgraph as pg


def plain_axis(axis: pg.AxisItem) -> pg.AxisItem:
    """Turn off ``axis``'s automatic SI-prefix scaling (its ticks then give the values); returns it."""
    axis.enableAutoSIPrefix(False)
    return axis


def plain_axes(plot: pg.PlotItem | pg.PlotWidget) -> None:
    """:func:`plain_axis` on every axis of ``plot`` (shown or hidden)."""
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    for entry in item.axes.values():
        plain_axis(entry["item"])
