"""The default layout gives the figures the room, with SqueezeNet (../shared) and a photo: at 1280×800 and
1920×1080 the tool pages take at least 70 % of the window's width, every tool is one click away in the tool
column without scrolling, the model, image and target stay in view, and every map of every tool is at least
200 px on its shorter side without scrolling."""

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.gui.app.registry import CENTRAL_PANES
from cnnviz.gui.runtime.model_spec import ModelSpec
from tests.gui.app.test_layout import window_rect

SQUEEZENET = Path(__file__).resolve().parents[4] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"
PHOTO = Path(__file__).resolve().parents[3] / "resources" / "samples" / "chelsea.jpg"
SETTLE_MS = 180_000
"""Longest wait for a tool to show SqueezeNet's results (two test workers share two cores in CI)."""
LEAST_MAP = 200
"""Least shorter side of a map on screen, in pixels."""
FIGURE_SHARE = 0.7
"""Least share of the window's width the tool pages get."""
STILL_SMALL = {(1280, "attribution")}
"""(window width, tool) whose maps are still below :data:`LEAST_MAP` (issue 20 is open for them: four maps with
their colour bars share about 1060 px, 177 px each; they need to wrap or slimmer colour bars)."""


def map_sides(pane: QWidget) -> list[tuple[int, str]]:
    """The shorter side in pixels of the part of each visible map's plotting box that can be seen without
    scrolling (colour bars and titles excluded), with a name for messages."""
    sides = []
    for canvas in pane.findChildren(pg.GraphicsView):
        box = getattr(canvas, "view_box", None)
        if not canvas.isVisible() or not isinstance(box, pg.ViewBox):
            continue
        scene = box.sceneBoundingRect()
        shown = canvas.mapFromScene(scene).boundingRect()
        rect = QRect(canvas.mapTo(canvas.window(), shown.topLeft()), shown.size()).intersected(window_rect(canvas))
        sides.append((min(rect.width(), rect.height()), f"{type(canvas).__name__} {canvas.objectName()}"))
    return sides


@pytest.fixture
def squeezenet_window(window, settle):
    if not SQUEEZENET.is_file():
        pytest.skip(f"{SQUEEZENET} not available (../shared is only beside developer and CI checkouts)")
    window.controller.load_model(ModelSpec("file", str(SQUEEZENET), trust=True))
    window.controller.open_image(PHOTO)
    return settle(window)


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_figures_get_the_room_on_every_tool(squeezenet_window, show_pane, qtbot, size):
    window = squeezenet_window
    window.resize(*size)
    window.reset_layout()
    qtbot.waitUntil(lambda: window.size().toTuple() == size, timeout=5000)
    summary = window.context_summary
    tools = window.tabs.list
    small_maps = {}
    for pane in CENTRAL_PANES:
        widget = window.capture_target(pane.key) if pane.key == "input" else show_pane(window, pane.key, SETTLE_MS)
        QApplication.processEvents()
        assert window.tabs.stack.width() >= FIGURE_SHARE * size[0], (pane.key, window.tabs.stack.width())
        assert not tools.verticalScrollBar().isVisible()
        item = window.tabs.item_of(window.tabs.indexOf(widget))
        assert item is not None and tools.viewport().rect().contains(tools.visualItemRect(item))
        assert summary.model_label.text() == window.state.model.name and summary.model_label.isVisible()
        assert summary.image_label.text() == PHOTO.name and summary.thumbnail.pixmap().width() > 100
        assert summary.target.currentText() == window.state.model.class_name(window.state.target)
        small = [(side, name) for side, name in map_sides(widget) if side < LEAST_MAP]
        if small:
            small_maps[(size[0], pane.key)] = small
    assert set(small_maps) <= STILL_SMALL, small_maps
    assert [tools.item(row).text() for row in range(tools.count())] == [
        "THIS IMAGE", "Input", "Filters", "Activations", "Deconvnet", "Deep dream", "Occlusion", "Attribution",
        "Invariance", "DATASET", "Dataset", "Feature space"]
    if size[0] >= 1600:
        assert window.docks["predictions"].isVisible()
    else:
        assert not any(window.docks[key].isVisible() for key in ("model", "image", "predictions", "report"))


def test_one_click_on_a_tool_shows_it(squeezenet_window):
    window = squeezenet_window
    tools = window.tabs.list
    for pane in CENTRAL_PANES:
        item = window.tabs.item_of(window.tabs.indexOf(window.panes[pane.key]))
        tools.setCurrentItem(item)
        assert window.tabs.currentWidget() is window.panes[pane.key]
    heading = tools.item(0)
    tools.setCurrentItem(heading)  # a group heading is no page
    assert window.tabs.currentWidget() is window.panes[CENTRAL_PANES[-1].key]


def test_the_first_window_fits_the_screen(window, monkeypatch):
    from cnnviz.gui.app import main_window

    screen = window.screen().availableGeometry()
    monkeypatch.setattr(main_window, "DEFAULT_SIZE", (screen.width() + 500, screen.height() + 400))
    assert main_window.first_size(window) == (screen.width(), screen.height())
    assert main_window.screen_is_small(window)
    monkeypatch.setattr(main_window, "DEFAULT_SIZE", (screen.width() - 10, screen.height() - 10))
    assert main_window.first_size(window) == (screen.width() - 10, screen.height() - 10)
    assert not main_window.screen_is_small(window)
