"""The window's menu bar: File (open/paste image, open model file, samples, sessions and recent files, export
screenshot, the report's actions, quit), View (show or hide each dock, the figure alone, reset the layout) and
Help (the user guide, the keyboard shortcuts, about). Each named entry is put in the window's ``menu_actions``."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

import cnnviz
from cnnviz.gui.app.help_guide import show_user_guide
from cnnviz.gui.app.registry import DOCK_PANES
from cnnviz.gui.app.report_actions import add_report_actions
from cnnviz.gui.app.shortcut_list import show_shortcuts
from cnnviz.gui.panes.image import ask_image_file, available_samples, paste_image
from cnnviz.gui.panes.model import ask_model_file

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

Shortcut = QKeySequence | QKeySequence.StandardKey | None


def add_action(window: "MainWindow", name: str, menu: QMenu, text: str, shortcut: Shortcut,
               slot: Callable[[], object]) -> QAction:
    """Add an entry ``text`` (with ``shortcut``) calling ``slot()`` to ``menu``, as ``window.menu_actions[name]``."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    window.menu_actions[name] = action
    return action


def build_menus(window: "MainWindow") -> None:
    """Fill ``window``'s menu bar with the File, View and Help menus."""
    _file_menu(window, window.menuBar().addMenu("&File"))
    _view_menu(window, window.menuBar().addMenu("&View"))
    _help_menu(window, window.menuBar().addMenu("&Help"))


def show_about(parent: QWidget) -> None:
    """The About box (version, what cnnviz does, licence)."""
    QMessageBox.about(
        parent, "About cnnviz",
        f"<b>cnnviz {cnnviz.__version__}</b><p>Explore what convolutional networks learn: "
        "predictions, architecture and receptive fields, filters, activations, deconvnet, "
        "occlusion, invariance and deep dream.</p><p>MIT licence.</p>")


def _file_menu(window: "MainWindow", menu: QMenu) -> None:
    controller = window.controller
    add_action(window, "open_image", menu, "&Open image…", QKeySequence.StandardKey.Open,
               lambda: ask_image_file(controller, window))
    add_action(window, "paste_image", menu, "&Paste image", QKeySequence.StandardKey.Paste,
               lambda: paste_image(controller))
    add_action(window, "open_model", menu, "Open &model file…", QKeySequence("Ctrl+Shift+O"),
               lambda: ask_model_file(window.model_loader, window.state.device, window))
    samples = menu.addMenu("&Samples")
    for sample in available_samples():
        action = samples.addAction(sample.title)
        action.triggered.connect(lambda _checked=False, s=sample: controller.open_sample(s))
    samples.setEnabled(not samples.isEmpty())
    menu.addSeparator()
    window.sessions.add_menu_entries(menu)
    menu.addSeparator()
    add_action(window, "export", menu, "&Export screenshot…", QKeySequence("Ctrl+Shift+S"), window.export_screenshot)
    add_report_actions(window, menu)
    menu.addSeparator()
    add_action(window, "quit", menu, "&Quit", QKeySequence("Ctrl+Q"), window.close)


def _help_menu(window: "MainWindow", menu: QMenu) -> None:
    guide = add_action(window, "user_guide", menu, "&User guide…", QKeySequence.StandardKey.HelpContents,
                       lambda: show_user_guide(window))
    guide.setToolTip("The README inside the app, one section at a time, searchable")
    add_action(window, "shortcuts", menu, "&Keyboard shortcuts…", QKeySequence("Ctrl+/"),
               lambda: show_shortcuts(window))
    menu.addSeparator()
    add_action(window, "about", menu, "&About cnnviz", None, lambda: show_about(window))


def _view_menu(window: "MainWindow", menu: QMenu) -> None:
    for pane in DOCK_PANES:
        menu.addAction(window.docks[pane.key].toggleViewAction())
    menu.addSeparator()
    alone = add_action(window, "figure_alone", menu, "Show the &figure alone", QKeySequence("F11"),
                       window.figure_alone.toggle)
    alone.setToolTip("Hide the docks, tabs and controls around the current figure (F11, Esc or a "
                     "double-click on the figure: back)")
    menu.addSeparator()
    add_action(window, "reset_layout", menu, "&Reset layout", None, window.reset_layout)
