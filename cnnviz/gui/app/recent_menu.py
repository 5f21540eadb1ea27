"""*File → Recent*: the last sessions and model files (when the window remembers), each opened with a click."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu

from cnnviz.gui.app import settings
from cnnviz.gui.runtime.model_spec import ModelSpec, model_file_exists, spec_from_text

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow


class RecentMenu:
    """The Recent submenu of ``window`` (``menu``, None until :meth:`add_to`); ``open_session(path)`` opens a
    session; model files load through the window's model loader."""

    def __init__(self, window: "MainWindow", open_session: Callable[[Path], object]) -> None:
        self.window = window
        self.open_session = open_session
        self.menu: QMenu | None = None

    def add_to(self, menu: QMenu) -> None:
        """Add the Recent submenu to ``menu`` (filled each time it is shown)."""
        self.menu = menu.addMenu("&Recent")
        self.menu.aboutToShow.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        """List the recent sessions and model files."""
        menu = self.menu
        if menu is None:
            return
        menu.clear()
        entries = settings.load_recent()
        for kind, path in entries:
            action = menu.addAction(f"{'Session' if kind == 'session' else 'Model'}: {path.name}")
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _checked=False, k=kind, p=path: self.open(k, p))
        if entries:
            menu.addSeparator()
        menu.addAction("Clear recent").triggered.connect(lambda _checked=False: settings.clear_recent())
        menu.setEnabled(self.window.remember)

    def open(self, kind: str, path: Path) -> None:
        """Open a recent session, or load a recent model file."""
        if not (path.is_file() if kind == "session" else model_file_exists(path)):
            self.window.show_status(f"{path} no longer exists.")
        elif kind == "session":
            self.open_session(path)
        else:
            self.window.model_loader.load(spec_from_text(str(path), device=self.window.state.device))

    def add(self, kind: settings.RecentKind, path: Path) -> None:
        """Put ``path`` first in the list (when the window remembers)."""
        if self.window.remember:
            settings.add_recent(kind, path)
            self.fill()

    def note_model(self, spec: ModelSpec | None) -> None:
        """Put the model file ``spec`` loads first in the list (nothing for other models)."""
        if spec is not None and spec.source == "file":
            self.add("model", Path(spec.name))
