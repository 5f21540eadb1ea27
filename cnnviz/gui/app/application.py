"""Application-wide set-up: the QApplication, its names and icon, and pyqtgraph's options."""

import sys
from typing import cast

import pyqtgraph as pg
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cnnviz.core.data.resources import resource_path
from cnnviz.gui.app.settings import APPLICATION, ORGANISATION
from cnnviz.gui.compat import gui_thread_gc, pyqtgraph_menus
from cnnviz.gui.widgets import wheel_guard


def configure_pyqtgraph() -> None:
    """Options every cnnviz image view relies on: row-major image arrays ([H, W(, C)]); view boxes build
    their context menus when first opened (:mod:`~cnnviz.gui.compat.pyqtgraph_menus`)."""
    pg.setConfigOptions(imageAxisOrder="row-major")
    pyqtgraph_menus.lazy_view_box_menus()


def app_icon() -> QIcon | None:
    """The cnnviz icon, or None while ``resources/icons/cnnviz.png`` is missing."""
    path = resource_path("icons", "cnnviz.png")
    return QIcon(str(path)) if path.is_file() else None


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one if there is one), named and with the cnnviz icon, with
    garbage collection moved to the GUI thread (:mod:`~cnnviz.gui.compat.gui_thread_gc`) and wheel
    turns over the controls of a scroll area scrolling it unless the control has focus
    (:mod:`~cnnviz.gui.widgets.wheel_guard`)."""
    configure_pyqtgraph()
    # An existing instance is the QApplication made here or by the embedding program (the stubs give
    # the base class).
    app = cast(QApplication | None, QApplication.instance())
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    QApplication.setApplicationName(APPLICATION)
    QApplication.setOrganizationName(ORGANISATION)
    gui_thread_gc.install(app)
    wheel_guard.install(app)
    icon = app_icon()
    if icon is not None:
        QApplication.setWindowIcon(icon)
    return app
