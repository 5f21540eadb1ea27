"""Exports leave out what only the screen needs: the Deconvnet pane's "click to pick a position", the
Deep dream view's "press Start" and the Occlusion pane's occluded input left by a hover (the export
shows the un-hovered figure, and the hover is shown again afterwards)."""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF
from qimage_pixels import qimage_pixels

from cnnviz.gui.widgets import figure_render
from cnnviz.gui.widgets.figure_render import LAYOUT_WIDTH, ExportOptions, render_image

SCREEN = ExportOptions(width_px=LAYOUT_WIDTH, caption=False)


def exported_texts(figure, path: Path) -> str:
    """The texts painted in an SVG export of ``figure``."""
    figure_render.save_svg(figure, path, ExportOptions(caption=False))
    return "\n".join("".join(e.itertext()) for e in ET.parse(path).getroot().iter() if e.tag.endswith("text"))




def test_the_deconvnet_click_hint_is_on_screen_only(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_pane(loaded_window, "deconvnet")
    qtbot.waitUntil(lambda: pane.settled and pane._current_result() is not None)
    panel = pane.unit_view.map_panel
    assert panel.hint.text() == "click to pick a position" and panel.hint.isVisible()
    assert "unit (" in panel.detail.text() and "click" not in panel.detail.text()
    texts = exported_texts(pane.figure, tmp_path / "deconv.svg")
    assert "unit (" in texts and "click" not in texts
    assert panel.hint.text() == "click to pick a position"


def test_the_dream_views_start_hint_is_on_screen_only(loaded_window, show_pane, tmp_path):
    pane = show_pane(loaded_window, "dream")
    assert pane.view.title.text() == "<b>Input</b>"
    assert pane.view.hint.text() == "press Start (Ctrl+Return) to dream" and pane.view.hint.isVisible()
    texts = exported_texts(pane.figure, tmp_path / "dream.svg")
    assert "Input" in texts and "Start" not in texts


def test_the_occlusion_export_shows_the_unhovered_input(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_pane(loaded_window, "occlusion")
    pane.form.set_values({"window": 14, "stride": 7})
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.result is not None and pane.result.maps.complete,
                    timeout=60_000)
    canvas = pane.view.prob_panel.canvas
    unhovered = qimage_pixels(render_image(pane.figure, SCREEN))
    plain_input = pane.view.input_panel.canvas.image.copy()
    canvas.scene().sigMouseMoved.emit(canvas.scene_point(10, 10))
    hovered_input = pane.view.input_panel.canvas.image.copy()
    assert pane.view.input_panel.title.text().startswith("<b>Occluded at")
    assert not np.array_equal(hovered_input, plain_input)
    np.testing.assert_array_equal(qimage_pixels(render_image(pane.figure, SCREEN)), unhovered)
    assert "Occluded" not in exported_texts(pane.figure, tmp_path / "occlusion.svg")
    assert pane.view.input_panel.title.text().startswith("<b>Occluded at")  # the hover is shown again
    np.testing.assert_array_equal(pane.view.input_panel.canvas.image, hovered_input)
    canvas.scene().sigMouseMoved.emit(QPointF(-1e6, -1e6))
    np.testing.assert_array_equal(pane.view.input_panel.canvas.image, plain_input)
