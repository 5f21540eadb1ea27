"""Fixtures for the GUI tests: offscreen Qt, settings and torch cache in temporary folders, windows.

Every test gets its own settings folder, data folder and torch cache, so the user's settings and downloaded
weights are never read or written. Windows are closed and their background threads joined after
each test, and a test fails when it leaves a top-level widget alive.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
import torch.hub
from PySide6.QtCore import QSettings, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QMessageBox
from widget_leaks import new_top_level_widgets, top_level_addresses

from cnnviz.core.data import images
from cnnviz.gui.app.application import create_application
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.runtime.model_spec import ModelSpec

SETTLE_MS = 60_000


@pytest.fixture(scope="session", autouse=True)
def app(qapp: QApplication) -> QApplication:
    """The QApplication, set up as the cnnviz command sets it up (for every test: garbage is then
    collected on the GUI thread only, and what exists by now, the modules imported with Qt's and
    torch's objects, is frozen out of the collector's reach, so that the full collections each test's
    cleanup makes look only at what tests created)."""
    return create_application()


@pytest.fixture(autouse=True)
def settings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder for QSettings (INI format, user scope) and for XDG config of subprocesses."""
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG data folder, where ``QStandardPaths.AppDataLocation`` (cached dataset scans) points."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch cache (TORCH_HOME): no zoo weights are cached, none are written elsewhere."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return home


@pytest.fixture(autouse=True)
def no_unexpected_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail (instead of blocking) on a modal message box a test did not ask for."""

    def unexpected(parent, title, text, *args, **kwargs):
        raise AssertionError(f"unexpected message box {title!r}: {text}")

    for name in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, unexpected)


@pytest.fixture(autouse=True)
def no_leaked_widgets(app: QApplication, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a passing test that leaves a new top-level widget alive after its own teardown.

    ``make_window`` depends on this fixture, so its cleanup (windows closed, threads joined) runs
    before this check; widgets added to ``qtbot`` are closed and deleted (deleteLater) by pytest-qt
    before any fixture is torn down. A failed test is not checked: its traceback keeps its widgets.
    """
    before = top_level_addresses()
    failures = request.session.testsfailed
    yield
    request.node.funcargs.clear()  # pytest keeps the fixture values (windows) until after teardown
    if request.session.testsfailed == failures:
        leaked = new_top_level_widgets(before)
        assert not leaked, f"top-level widgets left alive: {', '.join(leaked)}"


WINDOW_SIZE = (1400, 900)
"""Size of the windows tests make (without remembered geometry): the default window's size."""


@pytest.fixture
def make_window(app: QApplication, qtbot, no_leaked_widgets) -> Iterator:
    """Factory of shown main windows (:data:`WINDOW_SIZE` unless they remember a geometry), closed with their
    worker threads joined after the test."""
    windows: list[MainWindow] = []

    def make(remember: bool = False) -> MainWindow:
        window = MainWindow(remember=remember)
        qtbot.addWidget(window)
        if not remember:  # the offscreen screen is 800 px wide: give the window a desktop's size
            window.resize(*WINDOW_SIZE)
            window.fit_docks_to_width()
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert window.controller.shutdown(30_000)
    QThreadPool.globalInstance().waitForDone()
    gc.collect()  # free closed windows here, on the GUI thread
    app.processEvents()


@pytest.fixture
def window(make_window) -> MainWindow:
    """A main window that does not touch the settings, with nothing loaded yet."""
    return make_window()


@pytest.fixture
def settle(qtbot):
    """Function waiting until a window shows a model, an image, predictions and the layer table."""

    def wait(window: MainWindow, timeout_ms: int = SETTLE_MS) -> MainWindow:
        qtbot.waitUntil(lambda: window.controller.settled, timeout=timeout_ms)
        return window

    return wait


@pytest.fixture
def loaded_window(window: MainWindow, settle) -> MainWindow:
    """A window showing the bundled model on the default sample image."""
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.default_sample())
    return settle(window)


@pytest.fixture
def show_pane(qtbot, settle):
    """Function bringing a tool pane to the front of a window and waiting until it shows its results."""

    def show(window: MainWindow, key: str, timeout_ms: int = SETTLE_MS):
        pane = window.capture_target(key)
        wait_for_pane(qtbot, window, pane, timeout_ms)
        return pane

    return show


def wait_for_pane(qtbot, window: MainWindow, pane, timeout_ms: int = SETTLE_MS) -> None:
    """Wait until ``pane`` and the window's background work are idle."""
    qtbot.waitUntil(lambda: window.controller.settled and pane.settled, timeout=timeout_ms)


@pytest.fixture
def mouse(qtbot):
    """Mouse actions on pyqtgraph views: ``mouse.click(view, where)`` and ``mouse.hover(view, where)``
    with ``where()`` giving a scene position, asked only after pending layout changes are applied
    (a title that wraps anew resizes the views, and with them their scene coordinates). Each action
    first waits out pyqtgraph's mouse rate limit, which drops moves that follow too closely."""

    def settled_point(view, where):
        qtbot.wait(1000 // max(1, pg.getConfigOption("mouseRateLimit")) + 1)
        QApplication.processEvents()
        QApplication.processEvents()
        return view.mapFromScene(where())

    class Mouse:
        @staticmethod
        def click(view, where) -> None:
            point = settled_point(view, where)
            qtbot.mouseMove(view.viewport(), point)
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)

        @staticmethod
        def hover(view, where) -> None:
            qtbot.mouseMove(view.viewport(), settled_point(view, where))

    return Mouse()
