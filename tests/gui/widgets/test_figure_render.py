"""The figure renderer: sizes from the export options, a size independent of the widget's size in the
window, transient marks left out, the caption strip, SVG and PDF, and the export dialog's choices."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from export_answers import answer_export
from PIL import Image
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from qimage_pixels import qimage_pixels

from cnnviz.core.files.caption import Caption
from cnnviz.gui.widgets import figure_render
from cnnviz.gui.widgets.figure_export import FigureExport, array_csv
from cnnviz.gui.widgets.figure_export_dialog import FigureExportDialog
from cnnviz.gui.widgets.figure_render import (
    CAPTION_PT,
    LAYOUT_WIDTH,
    ExportOptions,
    caption_font,
    mark_transient,
    render_image,
)

CAPTION = Caption("test", "TinyNet", "untrained", "0123456789ab", "dog.jpg",
                  {"layer": "features.conv3", "note": "a rather long value " * 12}, partial=True)


@pytest.fixture
def figure(qtbot):
    """A shown window holding a figure: a title and a plot with a curve and a marked hover line."""
    window = QWidget()
    qtbot.addWidget(window)
    figure = QWidget(window)
    layout = QVBoxLayout(figure)
    layout.addWidget(QLabel("Title"))
    plot = pg.PlotWidget(background="w")
    plot.plot([0, 1, 2], [2, 0, 1], pen=pg.mkPen("b", width=2))
    figure.line = pg.InfiniteLine(pos=1.5, angle=90, pen=pg.mkPen("r", width=6))
    plot.addItem(figure.line)
    figure.hint = QLabel("hover for values")
    layout.addWidget(plot, 1)
    layout.addWidget(figure.hint)
    QVBoxLayout(window).addWidget(figure)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)
    yield figure
    window.close()




def test_the_options_give_the_pixel_and_paper_widths():
    assert ExportOptions().pixel_width() == 2008 and ExportOptions().physical_width_mm() == 170.0
    assert ExportOptions(width_mm=85, dpi=600).pixel_width() == 2008
    assert ExportOptions(width_px=1000, dpi=250).physical_width_mm() == pytest.approx(101.6)


def test_the_png_has_the_width_and_dpi_asked_whatever_the_windows_size(figure, tmp_path):
    path = figure_render.save_png(figure, tmp_path / "a.png", ExportOptions(), CAPTION)
    with Image.open(path) as image:
        size = image.size
        assert size[0] == 2008 and image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
    shown = figure.size()
    figure.window().resize(900, 700)
    assert figure.size() != shown
    with Image.open(figure_render.save_png(figure, tmp_path / "b.png", ExportOptions(), CAPTION)) as image:
        assert image.size == size
    assert render_image(figure, ExportOptions(width_px=640, dpi=96)).width() == 640


def test_a_marked_hover_line_and_hint_are_not_rendered(figure):
    options = ExportOptions(width_px=LAYOUT_WIDTH, caption=False)
    with_line = qimage_pixels(render_image(figure, options))
    red = (with_line[..., 0] > 200) & (with_line[..., 1] < 80) & (with_line[..., 2] < 80)
    assert red.sum() > 100  # the unmarked line is drawn
    mark_transient(figure.line, figure.hint)
    marked = qimage_pixels(render_image(figure, options))
    assert figure.line.isVisible() and figure.hint.text() == "hover for values"  # shown again after
    figure.line.hide()
    figure.hint.setText("")
    np.testing.assert_array_equal(marked, qimage_pixels(render_image(figure, options)))
    assert not np.array_equal(marked, with_line)


def test_the_caption_strip_is_readable_and_wraps_under_the_figure(figure):
    options = ExportOptions()
    font = caption_font(options)
    points = font.pixelSize() * options.pixel_width() / LAYOUT_WIDTH / options.dpi * 72
    assert points == pytest.approx(CAPTION_PT, abs=0.5)
    plain = render_image(figure, ExportOptions(caption=False), CAPTION)
    captioned = render_image(figure, options, CAPTION)
    assert captioned.width() == plain.width() == 2008
    extra_lines = (captioned.height() - plain.height()) / (font.pixelSize() * 2008 / LAYOUT_WIDTH)
    assert extra_lines > len(CAPTION.lines()) + 0.5  # the long line wraps
    rows = plain.height() - 1
    np.testing.assert_array_equal(qimage_pixels(captioned)[:rows], qimage_pixels(plain)[:rows])


def test_svg_and_pdf_are_one_figure_sized_on_paper(figure, tmp_path):
    svg = figure_render.save_svg(figure, tmp_path / "f.svg", ExportOptions(width_mm=120), CAPTION)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("width") == "120mm"
    texts = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert "TinyNet" in texts and "layer=features.conv3" in texts and "PARTIAL" in texts
    pdf = figure_render.save_pdf(figure, tmp_path / "f.pdf", ExportOptions(width_mm=120), CAPTION).read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 1
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", pdf).group(1).split()]
    assert box[2] == pytest.approx(120 / 25.4 * 72, abs=1.0)


def test_write_gives_every_format_and_the_data_with_the_caption(figure, tmp_path):
    data = {"curve": np.array([0.5, 0.25]), "map": np.arange(6.0).reshape(2, 3), "cube": np.zeros((2, 2, 2))}
    export = FigureExport(figure, lambda: "x", lambda: data, lambda _text: None, caption=lambda: CAPTION)
    written = export.write(tmp_path / "out" / "fig.png", ["png", "svg", "pdf", "npy", "csv"])
    assert [p.name for p in written] == ["fig.png", "fig.svg", "fig.pdf", "fig-curve.npy", "fig-map.npy",
                                         "fig-cube.npy", "fig-curve.csv", "fig-map.csv"]
    lines = (tmp_path / "out" / "fig-map.csv").read_text(encoding="utf-8").splitlines()
    assert lines[: len(CAPTION.comment_lines())] == CAPTION.comment_lines() and "# partial: yes" in lines
    assert lines[len(CAPTION.comment_lines()):] == ["row,map[0],map[1],map[2]", "0,0,1,2", "1,3,4,5"]
    assert array_csv("c", np.array([0.5])) == "index,c\n0,0.5\n" and array_csv("s", np.array(["a"])) is None
    with pytest.raises(ValueError, match="unknown export format"):
        export.write(tmp_path / "fig", ["tiff"])


class Memory:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def load_text(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def save_text(self, key: str, value: str) -> None:
        self.values[key] = value


def test_the_dialogs_choices_are_written_and_remembered(figure, tmp_path, monkeypatch):
    memory = Memory()
    reports = []
    export = FigureExport(figure, lambda: "fig", lambda: {"v": np.ones(3)}, reports.append, memory=memory)
    chosen = ExportOptions(width_px=800, dpi=150, caption=False)
    answer_export(monkeypatch, tmp_path / "one.svg", ("svg", "csv"), chosen)
    written = export.export()
    assert [p.name for p in written] == ["one.svg", "one-v.csv"] and "Saved figure" in reports[-1]
    again = FigureExport(figure, lambda: "fig", dict, reports.append, memory=memory)
    assert again.options == chosen and again.formats == ("svg", "csv") and again.folder == tmp_path
    asked = []
    answer_export(monkeypatch, tmp_path / "two", ("png",), asked=asked)
    written = again.export()
    assert asked[0][0] == str(tmp_path / "cnnviz-fig.svg") and asked[0][1] == ("svg",)  # no data: CSV off
    assert asked[0][2] == chosen
    with Image.open(written[0]) as image:
        assert image.size[0] == 800


def test_the_dialog_converts_the_width_between_mm_and_px(qtbot, tmp_path):
    dialog = FigureExportDialog(tmp_path / "f.png", ("png", "npy"), ExportOptions(), data_formats=("csv",))
    qtbot.addWidget(dialog)
    assert dialog.options() == ExportOptions() and dialog.formats() == ("png",)  # no arrays: .npy off
    dialog.unit_combo.setCurrentText("px")
    assert dialog.options() == ExportOptions(width_px=2008)
    dialog.dpi_spin.setValue(150)
    dialog.unit_combo.setCurrentText("mm")
    assert dialog.options().width_mm == pytest.approx(340.0, abs=0.1)
    dialog.file.setText(str(tmp_path / "g.pdf"))
    dialog.checks["pdf"].setChecked(True)
    assert dialog.choice().stem == tmp_path / "g" and dialog.choice().formats == ("png", "pdf")
