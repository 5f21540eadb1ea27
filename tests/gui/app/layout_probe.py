"""Measures the default layout in a real (xcb) window, for ``test_window_layout`` under Xvfb.

``python -m tests.gui.app.layout_probe OUT.json MODEL.py PHOTO WxH [WxH …]`` opens the window with the model file
(trusted) and the photo, and for each size and each tool writes what the test checks: the tool pages' width,
whether the tool column scrolls or hides the tool's entry, what the compact summary shows, the shorter side of
every map that can be seen without scrolling, and the texts cut by their box (combo boxes, progress bars, the
status bar's fields). The tools run at the first size; later sizes show the same results laid out anew.
Attribution is stopped once its maps are all shown: the deletion and insertion curves it computes next (two thirds
of its time on SqueezeNet) only add lines to the plot already laid out below the maps.
"""

import json
import sys
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)

from cnnviz.gui.app.application import create_application
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.app.registry import CENTRAL_PANES
from cnnviz.gui.runtime.model_spec import ModelSpec

SETTLE_S = 240.0
"""Longest wait for a tool to show its results (two test workers share two cores in CI)."""
PROGRESS_PADDING = 8
"""Pixels of a progress bar's width its text may not use (frame and margins)."""


def window_rect(widget: QWidget) -> QRect:
    """The part of ``widget`` that can be seen in its window, in window coordinates: clipped by every
    parent (a scroll area's viewport, a splitter's pane)."""
    window = widget.window()
    rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        rect = rect.intersected(QRect(parent.mapTo(window, parent.rect().topLeft()), parent.size()))
        parent = parent.parentWidget()
    return rect


def shown(widget: QWidget) -> bool:
    """True when ``widget`` is visible and some of it can be seen in its window."""
    return widget.isVisible() and not window_rect(widget).isEmpty()


def map_sides(pane: QWidget) -> list[tuple[int, str]]:
    """The shorter side in pixels of the part of each visible map's plotting box that can be seen without
    scrolling (colour bars and titles excluded), with a name for messages."""
    sides = []
    for canvas in pane.findChildren(pg.GraphicsView):
        box = getattr(canvas, "view_box", None)
        if not canvas.isVisible() or not isinstance(box, pg.ViewBox):
            continue
        seen = canvas.mapFromScene(box.sceneBoundingRect()).boundingRect()
        rect = QRect(canvas.mapTo(canvas.window(), seen.topLeft()), seen.size()).intersected(window_rect(canvas))
        sides.append((min(rect.width(), rect.height()), f"{type(canvas).__name__} {canvas.objectName()}"))
    return sides


def combo_text_room(combo: QComboBox) -> int:
    """Pixels a combo box's current text may take (its edit field, from the style)."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    icon = combo.iconSize().width() + 4 if not combo.itemIcon(combo.currentIndex()).isNull() else 0
    return field.width() - icon


def cut_texts(root: QWidget) -> list[str]:
    """The texts under ``root`` wider than their box: combo boxes' current items, progress bars' texts and
    one-line labels that do not elide on purpose, each named with its width and the room it has."""
    cut = []
    for combo in root.findChildren(QComboBox):
        text = combo.currentText()
        width = combo.fontMetrics().horizontalAdvance(text)
        if shown(combo) and text and width > combo_text_room(combo):
            cut.append(f"combo {text!r}: {width} > {combo_text_room(combo)} px")
    for bar in root.findChildren(QProgressBar):
        text = bar.text() if bar.isTextVisible() else ""
        width = bar.fontMetrics().horizontalAdvance(text)
        if shown(bar) and text and width > bar.width() - PROGRESS_PADDING:
            cut.append(f"progress {text!r}: {width} > {bar.width() - PROGRESS_PADDING} px")
    return cut


def status_cut(window: MainWindow) -> list[str]:
    """The status bar's texts (its fields and message) wider than their label."""
    cut = cut_texts(window.statusBar())
    for label in window.statusBar().findChildren(QLabel):
        text, width = label.text(), label.fontMetrics().horizontalAdvance(label.text())
        if shown(label) and text and not label.wordWrap() and "<" not in text and width > label.width():
            cut.append(f"status {text!r}: {width} > {label.width()} px")
    return cut


def wait(app: QApplication, done, seconds: float) -> bool:
    """Process events until ``done()`` or ``seconds`` passed; True if it is done."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def maps_shown(pane: QWidget) -> bool:
    """Whether an Attribution pane shows every map it planned (its curves may still be computing)."""
    scene = pane.view.scene
    return bool(scene.planned) and all(item is not None for item in scene.maps)


def measure_tool(app: QApplication, window: MainWindow, key: str) -> dict:
    """What the layout test checks for tool ``key``, brought to the front and settled."""
    began = time.monotonic()
    pane = window.capture_target(key)
    if key == "attribution" and wait(app, lambda: maps_shown(pane), SETTLE_S):
        pane.cancel()
    settled = wait(app, lambda: window.controller.settled and getattr(pane, "settled", True), SETTLE_S)
    for _ in range(3):
        app.processEvents()
    tools, summary = window.tabs.list, window.context_summary
    item = window.tabs.item_of(window.tabs.indexOf(pane))
    return {
        "settled": settled,
        "seconds": round(time.monotonic() - began, 2),
        "stack_width": window.tabs.stack.width(),
        "tools_scroll": tools.verticalScrollBar().isVisible(),
        "tool_in_view": item is not None and tools.viewport().rect().contains(tools.visualItemRect(item)),
        "model": summary.model_label.text() if summary.model_label.isVisible() else None,
        "image": summary.image_label.text(),
        "thumbnail_width": summary.thumbnail.pixmap().width(),
        "target": summary.target.currentText(),
        "maps": map_sides(pane),
        "cut": cut_texts(pane) + cut_texts(summary) + status_cut(window),
        "lists_scroll": [list_name(view) for view in pane.findChildren(QListWidget)
                         if shown(view) and view.horizontalScrollBar().isVisible()],
    }


def list_name(view: QListWidget) -> str:
    """A list named by its first entry, for messages."""
    return f"list of {view.count()} from {view.item(0).text()!r}" if view.count() else "empty list"


def measure(app: QApplication, window: MainWindow, size: tuple[int, int]) -> dict:
    """Every tool's measures at window ``size``, with the docks shown and the tool column's entries."""
    window.resize(*size)
    window.reset_layout()
    wait(app, lambda: window.size().toTuple() == size, 10)
    tools = {pane.key: measure_tool(app, window, pane.key) for pane in CENTRAL_PANES}
    return {"size": list(window.size().toTuple()), "tools": tools,
            "entries": [window.tabs.list.item(row).text() for row in range(window.tabs.list.count())],
            "docks": [key for key, dock in window.docks.items() if dock.isVisible()]}


def main(argv: list[str]) -> int:
    out, model, photo, *sizes = argv
    app = create_application()
    window = MainWindow(remember=False)
    window.show()
    window.controller.load_model(ModelSpec("file", model, trust=True))
    window.controller.open_image(Path(photo))
    result = {"model_name": None, "loaded": wait(app, lambda: window.controller.settled, SETTLE_S), "sizes": []}
    result["model_name"] = window.state.model.name if window.state.model is not None else None
    for text in sizes:
        width, height = (int(v) for v in text.split("x"))
        result["sizes"].append(measure(app, window, (width, height)))
    Path(out).write_text(json.dumps(result, indent=1))
    window.close()
    window.controller.shutdown(30_000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
