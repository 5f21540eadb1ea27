"""The layout at 1280×800: every tab usable, nothing overlapping the images, the Architecture dock folded on a
small screen, a figure alone on F11 or a double-click, and the common dream settings in view."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from cnnviz.gui.app import main_window
from cnnviz.gui.app.registry import CENTRAL_PANES
from tests.gui.app.layout_probe import window_rect

SIZE = (1280, 800)


def views_in(pane: QWidget) -> list[pg.GraphicsView]:
    return [view for view in pane.findChildren(pg.GraphicsView) if view.isVisible()]


def label_overlaps(pane: QWidget) -> list[str]:
    """The visible labels (widgets, or title items inside a view) that cover part of an image view."""
    found = []
    views = [(view, window_rect(view)) for view in views_in(pane)]
    for label in pane.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        rect = window_rect(label)
        if rect.isEmpty():
            continue
        for view, view_rect in views:
            if rect.intersects(view_rect) and not view.isAncestorOf(label):
                found.append(f"label {label.text()[:40]!r} {rect} over {type(view).__name__} {view_rect}")
    for view, _rect in views:
        items = view.scene().items()
        titles = [i for i in items if isinstance(i, pg.LabelItem) and i.isVisible() and i.text]
        images = [i for i in items if isinstance(i, pg.ImageItem) and i.isVisible() and i.image is not None]
        for title in titles:
            for image in images:
                shown = image.sceneBoundingRect().intersected(image.getViewBox().sceneBoundingRect())
                if title.sceneBoundingRect().intersects(shown):
                    found.append(f"title {title.text[:40]!r} over an image in {type(view).__name__}")
    return found


def show_tab(window, key: str, show_pane) -> QWidget:
    """Make tab ``key`` current and wait for its results (the Input tab has none to wait for)."""
    if key == "input":
        return window.capture_target(key)
    return show_pane(window, key)


@pytest.fixture
def laptop_window(loaded_window, qtbot):
    loaded_window.resize(*SIZE)
    qtbot.waitUntil(lambda: loaded_window.size().toTuple() == SIZE, timeout=5000)
    return loaded_window


@pytest.mark.parametrize("architecture_folded", [True, False])
def test_every_tab_fits_1280_by_800(laptop_window, show_pane, qtbot, architecture_folded):
    window = laptop_window
    assert window.folded_docks() == ["architecture"]  # the offscreen screen is 800 px high
    window.set_folded(["architecture"] if architecture_folded else [])
    for pane in CENTRAL_PANES:
        widget = show_tab(window, pane.key, show_pane)
        QApplication.processEvents()
        assert window.tabs.currentWidget() is widget
        empty = [f"{type(w).__name__} {w.objectName()}" for w in widget.findChildren(QWidget)
                 if w.isVisible() and (w.width() <= 0 or w.height() <= 0)]
        assert not empty, (pane.key, empty)
        assert widget.width() >= 550 and widget.height() >= (650 if architecture_folded else 400), \
            (pane.key, widget.size())
        assert not label_overlaps(widget), (pane.key, label_overlaps(widget))
        hint = window.minimumSizeHint()
        assert hint.width() <= SIZE[0] and hint.height() <= SIZE[1], (pane.key, hint)


def test_figures_scroll_instead_of_shrinking(laptop_window, show_pane, qtbot):
    pane = show_pane(laptop_window, "attribution")
    area = pane.figure_area
    assert area.widget() is pane.figure
    least = pane.figure.minimumSizeHint()
    shown = [column for column in pane.view.grid.columns if column.isVisible()]
    assert least.width() >= max(360, 140 * len(shown)) and least.height() >= 260
    pane.figure_area.resize(200, 150)
    qtbot.waitUntil(lambda: area.horizontalScrollBar().maximum() > 0 and area.verticalScrollBar().maximum() > 0,
                    timeout=5000)  # the scroll ranges follow the resize through posted layout events
    assert pane.figure.width() >= least.width() and pane.figure.height() >= least.height()


@pytest.mark.parametrize(("height", "folded"), [(800, True), (899, True), (900, False), (1080, False)])
def test_architecture_folded_on_small_screens(make_window, monkeypatch, height, folded):
    monkeypatch.setattr(main_window, "available_height", lambda _widget: height)
    window = make_window()
    QApplication.processEvents()
    title = window.dock_titles["architecture"]
    dock = window.docks["architecture"]
    assert title.collapsed is folded
    assert window.folded_docks() == (["architecture"] if folded else [])
    if folded:
        assert dock.height() <= title.sizeHint().height() + 4
        title.arrow.click()  # one click unfolds it
        QApplication.processEvents()
        assert not title.collapsed
    assert dock.height() >= 100
    assert window.panes["architecture"].height() > 50


def test_folded_docks_are_remembered_and_figure_alone_is_not(make_window, monkeypatch):
    monkeypatch.setattr(main_window, "available_height", lambda _widget: 1080)
    monkeypatch.setattr(main_window, "WIDE_WINDOW", 0)  # every dock starts shown
    monkeypatch.setattr(main_window, "SHOWN_WHEN_WIDE", main_window.HIDDEN_ON_NARROW)
    first = make_window(remember=True)
    first.dock_titles["model"].arrow.click()
    first.figure_alone.toggle()  # closed while the Input tab is alone: the docks are remembered shown
    assert first.figure_alone.active
    first.close()
    second = make_window(remember=True)
    QApplication.processEvents()
    assert second.folded_docks() == ["model"]
    assert all(dock.isVisible() for dock in second.docks.values())
    assert second.docks["model"].height() <= second.dock_titles["model"].sizeHint().height() + 4


def test_f11_and_double_click_show_the_figure_alone(laptop_window, show_pane, qtbot):
    window = laptop_window
    pane = show_pane(window, "occlusion")
    alone = window.menu_actions["figure_alone"]
    area = pane.figure_area
    before = area.size()
    shown = [key for key, dock in window.docks.items() if dock.isVisible()]
    assert shown == ["architecture"]  # the side docks start hidden at 1280 px
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(pane, Qt.Key.Key_F11)
    QApplication.processEvents()
    assert window.figure_alone.active
    assert not any(dock.isVisible() for dock in window.docks.values())
    assert not window.tabs.tabBar().isVisible() and not pane.picker.isVisible()
    assert area.isVisible() and area.width() > before.width() and area.height() > before.height()
    qtbot.keyClick(area, Qt.Key.Key_Escape)
    assert not window.figure_alone.active
    assert [key for key, dock in window.docks.items() if dock.isVisible()] == shown
    assert window.tabs.tabBar().isVisible() and pane.picker.isVisible()
    view = views_in(area)[0]
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton)
    assert window.figure_alone.active and area.isVisible() and not pane.picker.isVisible()
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton)
    assert not window.figure_alone.active and pane.picker.isVisible()
    qtbot.keyClick(pane, Qt.Key.Key_F11)
    qtbot.keyClick(pane, Qt.Key.Key_F11)
    assert not window.figure_alone.active
    alone.trigger()
    window.tabs.setCurrentWidget(window.panes["filters"])  # another tab: everything back
    assert not window.figure_alone.active and window.docks["architecture"].isVisible()


def test_input_tab_alone_and_image_dock_without_the_same_images(laptop_window, show_pane):
    window = laptop_window
    pane = show_tab(window, "input", show_pane)
    window.bring_to_front("image")
    QApplication.processEvents()
    dock_views = views_in(window.panes["image"])
    assert len(dock_views) == 1 and dock_views[0].height() <= 130  # a thumbnail only
    assert len(views_in(pane)) == 2
    window.menu_actions["figure_alone"].trigger()
    assert window.figure_alone.active and not window.docks["image"].isVisible()
    window.menu_actions["figure_alone"].trigger()
    assert window.docks["image"].isVisible()


def test_common_dream_settings_visible_without_scrolling(laptop_window, show_pane, qtbot):
    pane = show_pane(laptop_window, "dream")
    controls = pane.form
    named = controls.widget
    scroll = controls.parentWidget().parentWidget()
    viewport = QRect(scroll.viewport().mapTo(laptop_window, QPoint(0, 0)), scroll.viewport().size())
    assert scroll.verticalScrollBar().value() == 0
    common = (controls.picker, named("objective"), named("step_size"), named("iterations"), named("octaves"))
    for widget in common:
        assert widget.isVisible()
        assert viewport.contains(window_rect(widget)), (widget, window_rect(widget), viewport)
        assert window_rect(widget).size() == widget.size()
    for name in ("jitter", "blur_every", "clamp", "decay", "start"):
        assert not named(name).isVisible()
    assert not controls.cycle.isVisible()
    sections = controls.sections
    assert [s.isExpanded() for s in sections.values()] == [True, True, False, False, False]
    assert all(s.height() == s.toggleButton().height() for s in list(sections.values())[2:])  # folded: the header
    regularisation = sections["Regularisation"]
    regularisation.toggleButton().click()
    assert named("jitter").isVisible()
    qtbot.waitUntil(lambda: regularisation.content().height() == regularisation.content().sizeHint().height()
                    and named("clamp").height() == named("clamp").sizeHint().height(), timeout=2000)
