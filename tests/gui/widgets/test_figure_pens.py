"""Lines scale with an exported figure: a curve's and an outline's strokes are as many pixels wide as
on screen times the export's scale (PNG), as wide a share of the figure in SVG and PDF, and the pens
are given back after the render."""

import re
import zlib

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget
from qimage_pixels import qimage_pixels

from cnnviz.gui.widgets import figure_render
from cnnviz.gui.widgets.figure_pens import widened
from cnnviz.gui.widgets.figure_render import LAYOUT_WIDTH, ExportOptions, render_image

CURVE_WIDTH = 3
BOX_WIDTH = 2


@pytest.fixture
def figure(qtbot):
    """A shown figure: a plot with a red horizontal curve (y = 1) and a green rectangle outline
    (y from 0.2 to 0.4) in the scene's data coordinates."""
    figure = QWidget()
    qtbot.addWidget(figure)
    plot = pg.PlotWidget(background="w")
    QVBoxLayout(figure).addWidget(plot)
    figure.curve = plot.plot([0, 1, 2], [1, 1, 1], pen=pg.mkPen((200, 0, 0), width=CURVE_WIDTH))
    figure.box = QGraphicsRectItem(QRectF(0.2, 0.2, 1.6, 0.2))
    figure.box.setPen(pg.mkPen((0, 160, 0), width=BOX_WIDTH))
    plot.addItem(figure.box)
    plot.setRange(xRange=(0, 2), yRange=(0, 1.2), padding=0)
    figure.plot = plot
    figure.resize(500, 300)
    figure.show()
    qtbot.waitExposed(figure)
    yield figure
    figure.close()




def stroke(image: QImage, colour: str) -> int:
    """Pixels (counting partly covered ones by their coverage) of ``colour``'s strokes crossed by the
    image's middle column: the width of a horizontal line, or the sum of two for the outline."""
    column = qimage_pixels(image).astype(int)[:, image.width() // 2]
    red, green = column[:, 0], column[:, 1]
    strength = {"red": (red - green) / 200, "green": (green - red) / 160}[colour]
    return float(np.clip(strength, 0, 1).sum())


@pytest.mark.parametrize("width_px", [2008, 3300])
def test_png_strokes_are_as_wide_as_on_screen_times_the_scale(figure, width_px):
    on_screen = render_image(figure, ExportOptions(width_px=LAYOUT_WIDTH, caption=False))
    assert stroke(on_screen, "red") == pytest.approx(CURVE_WIDTH, abs=0.6)
    assert stroke(on_screen, "green") == pytest.approx(2 * BOX_WIDTH, abs=1.0)
    scale = width_px / LAYOUT_WIDTH
    exported = render_image(figure, ExportOptions(width_px=width_px, caption=False))
    assert stroke(exported, "red") == pytest.approx(CURVE_WIDTH * scale, abs=1.0)
    assert stroke(exported, "green") == pytest.approx(2 * BOX_WIDTH * scale, abs=1.5)


def test_the_pens_are_given_back_after_the_render(figure):
    axis = figure.plot.getPlotItem().getAxis("bottom")
    axis_width = axis.pen().widthF()
    render_image(figure, ExportOptions(caption=False))
    assert figure.curve.curve.opts["pen"].widthF() == CURVE_WIDTH
    assert figure.box.pen().widthF() == BOX_WIDTH
    assert axis.pen().widthF() == axis_width and axis._tickPen is None


def test_svg_and_pdf_strokes_keep_their_share_of_the_width(figure, tmp_path):
    svg = figure_render.save_svg(figure, tmp_path / "f.svg", ExportOptions(caption=False)).read_text()
    view_width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))
    curve = re.search(r'stroke="#c80000"[^>]*stroke-width="([\d.]+)"', svg)
    assert float(curve.group(1)) == pytest.approx(CURVE_WIDTH * view_width / LAYOUT_WIDTH, rel=0.01)
    pdf = figure_render.save_pdf(figure, tmp_path / "f.pdf", ExportOptions(caption=False)).read_bytes()
    streams = b"".join(zlib.decompress(raw) for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
                       if raw[:1] == b"x")
    red_pen = re.search(rb"0\.78431\d* 0 0 SCN\n([\d.]+) w", streams)  # (200, 0, 0) in device units
    assert float(red_pen.group(1)) == pytest.approx(CURVE_WIDTH * view_width / LAYOUT_WIDTH, rel=0.01)


def test_a_wider_pen_is_a_copy_and_non_cosmetic_pens_are_left():
    pen = pg.mkPen(QColor("red"), width=0)
    assert widened(pen, 2.5).widthF() == 2.5 and pen.widthF() == 0
    solid = pg.mkPen("b", width=2, cosmetic=False)
    assert widened(solid, 2.0) is None and widened(None, 2.0) is None
