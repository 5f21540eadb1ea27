"""The main window: the tool list and the current tool's page in the centre, docks for model, image,
predictions, report and architecture.

The centre is a :class:`~cnnviz.gui.widgets.tool_navigator.ToolNavigator`: a narrow column with the model,
image and target in a compact form (:class:`~cnnviz.gui.app.context_summary.ContextSummary`) above every tool
under its group's heading, one click each, and the tool's page beside it (``window.tabs``, with the tab API).
The Model and Image docks start hidden, and so do Predictions and Report on a window narrower than
:data:`WIDE_WINDOW`, so that the figures get the width (the summary's buttons and the View menu bring them
back); the first window fits the screen's available area (a small screen starts maximised).

It is composed of parts in their own modules: the menus (:mod:`~cnnviz.gui.app.menus`: File, View, Help), the
docks (:mod:`~cnnviz.gui.app.docks`), the status bar (:mod:`~cnnviz.gui.app.status_fields`), sessions
(:mod:`~cnnviz.gui.app.sessions`), the report actions (:mod:`~cnnviz.gui.app.report_actions`) and the figure
alone (:mod:`~cnnviz.gui.app.figure_alone`). Image files dropped on the window are opened. A window that remembers
restores each tool pane's settings and the last tab. Each dock folds to its title bar with one click on
its arrow (:class:`~cnnviz.gui.widgets.dock_title.DockTitle`); the Architecture dock starts folded on a
screen less than :data:`TALL_SCREEN` pixels high. Docks dropped on each other are tabbed.
"""

from pathlib import Path

from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.app import settings
from cnnviz.gui.app.context_summary import ContextSummary
from cnnviz.gui.app.docks import add_dock, arrange_docks
from cnnviz.gui.app.figure_alone import FigureAlone
from cnnviz.gui.app.menus import build_menus
from cnnviz.gui.app.quit_guard import QuitGuard
from cnnviz.gui.app.registry import CENTRAL_PANES, DOCK_PANES, Pane
from cnnviz.gui.app.report_autosave import keep_autosaved
from cnnviz.gui.app.sessions import Sessions
from cnnviz.gui.app.status_fields import StatusFields
from cnnviz.gui.panes.image import open_mime_data
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.model_loader import ModelLoader
from cnnviz.gui.runtime.settings_store import export_folder, remember_export_folder
from cnnviz.gui.widgets import wheel_guard
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.dock_title import DockTitle
from cnnviz.gui.widgets.export_dialog import ExportDialog
from cnnviz.gui.widgets.labels import window_title
from cnnviz.gui.widgets.screenshot import save_png
from cnnviz.gui.widgets.tool_navigator import ToolNavigator

DEFAULT_SIZE = (1400, 900)
STATUS_TIMEOUT_MS = 10_000
TALL_SCREEN = 900
"""Least available screen height (pixels) at which the Architecture dock starts unfolded."""
FOLDED_ON_SMALL_SCREENS = ("architecture",)
"""The docks that start folded to their title bars on a screen less than :data:`TALL_SCREEN` high."""
CLOSE_WAIT_MS = 2500
"""Longest wait on closing for background jobs to stop; one that does not is left to its thread."""
WIDE_WINDOW = 1600
"""Least window width (pixels) at which the side docks start shown beside the figures."""
HIDDEN_ON_NARROW = ("model", "image", "predictions", "report")
"""The docks that start hidden in a window narrower than :data:`WIDE_WINDOW` (the tool column sums them up)."""
SHOWN_WHEN_WIDE = ("predictions", "report")
"""Those of :data:`HIDDEN_ON_NARROW` that start shown in a wider window (Model and Image stay in the column)."""


def available_height(widget: QWidget) -> int:
    """The height in pixels available to windows on the screen of ``widget`` (the primary screen
    before it is shown)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry().height() if screen is not None else TALL_SCREEN


def first_size(widget: QWidget) -> tuple[int, int]:
    """The first window's size: :data:`DEFAULT_SIZE`, never larger than the available screen area."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    area = screen.availableGeometry()
    return min(DEFAULT_SIZE[0], area.width()), min(DEFAULT_SIZE[1], area.height())


def screen_is_small(widget: QWidget) -> bool:
    """True when the available screen area is smaller than :data:`DEFAULT_SIZE` (the window starts maximised)."""
    return first_size(widget) != DEFAULT_SIZE


class MainWindow(QMainWindow):
    """The cnnviz window.

    ``remember``: save the model, image, geometry and dock layout in the settings and restore the
    layout (False for headless screenshots and tests that must not touch the settings).
    ``panes`` maps every pane key to its widget; ``docks`` maps dock pane keys to their docks and
    ``dock_titles`` to their title bars (:class:`DockTitle`: fold and unfold); ``menu_actions`` maps
    names (open_image, paste_image, open_model, save_session, open_session, export, quit, figure_alone,
    reset_layout, user_guide, shortcuts, about) to the menu actions; ``sessions`` saves and opens sessions
    (:class:`~cnnviz.gui.app.sessions.Sessions`); ``quit_guard`` asks before closing with an unsaved report
    (:class:`~cnnviz.gui.app.quit_guard.QuitGuard`; a window that remembers also autosaves its report,
    :mod:`~cnnviz.gui.app.report_autosave`); ``figure_alone`` shows the current figure alone
    (:class:`~cnnviz.gui.app.figure_alone.FigureAlone`); ``status_fields`` is the status bar
    (:class:`~cnnviz.gui.app.status_fields.StatusFields`), whose labels are also ``model_status``,
    ``device_status``, ``input_status``, ``forward_status`` and ``busy_indicator``.
    """

    def __init__(self, state: AppState | None = None, controller: Controller | None = None,
                 remember: bool = True) -> None:
        super().__init__()
        self.state = state or AppState(self)
        self.controller = controller or Controller(self.state, self)
        self.remember = remember
        self.model_loader = ModelLoader(self.controller, self)
        self.context = PaneContext(self.state, self.controller, self.model_loader)
        self.panes: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.dock_titles: dict[str, DockTitle] = {}
        self.menu_actions: dict[str, QAction] = {}
        self.setObjectName("cnnviz_main_window")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(*first_size(self))

        self.tabs = ToolNavigator()
        self.context_summary = ContextSummary(self.state, self.controller, self.bring_to_front)
        self.tabs.set_header(self.context_summary)
        self.setCentralWidget(self.tabs)
        with wheel_guard.paused():
            for pane in CENTRAL_PANES:
                self.add_central_pane(pane)
            for pane in DOCK_PANES:
                add_dock(self, pane)
        arrange_docks(self)
        self._default_layout = self.saveState()
        self.sessions = Sessions(self)
        self._fold_for_screen()
        self.fit_docks_to_width()
        self.resize(*first_size(self))  # the docks built above may have widened it
        self.figure_alone = FigureAlone(self)
        build_menus(self)
        self.status_fields = StatusFields(self, self.state)
        fields = self.status_fields
        self.model_status, self.device_status, self.input_status = fields.model, fields.device, fields.input
        self.forward_status, self.busy_indicator = fields.forward, fields.busy

        self.state.model_changed.connect(self._model_changed)
        self.state.image_changed.connect(self._image_changed)
        self.state.status_message.connect(self.show_status)
        self.state.pane_requested.connect(self.bring_to_front)
        self.controller.image_failed.connect(self._image_failed)
        self._model_changed(self.state.model)
        self.quit_guard = QuitGuard(self)
        if remember:
            self.restore_layout()
            self.restore_remembered()
            keep_autosaved(self)

    def add_central_pane(self, pane: Pane) -> QWidget:
        """Build ``pane`` and add it as a tab of the central area."""
        widget = pane.factory(self.context)
        widget.setObjectName(f"pane_{pane.key}")
        self.tabs.addTab(widget, pane.title, pane.group)
        self.panes[pane.key] = widget
        return widget

    def capture_target(self, key: str) -> QWidget:
        """The widget to grab for ``key``: ``"window"``, a dock pane (its dock) or a tab (shown first).

        Raises KeyError for an unknown key.
        """
        if key == "window":
            return self
        if key in self.docks:
            self.dock_titles[key].set_collapsed(False)
            return self.docks[key]
        widget = self.panes[key]
        self.tabs.setCurrentWidget(widget)
        return widget

    def bring_to_front(self, key: str) -> None:
        """Show pane ``key``: make its tab current, or show and raise its dock (an unknown key is ignored)."""
        if key in self.docks:
            self.docks[key].show()
            self.docks[key].raise_()
            self.dock_titles[key].set_collapsed(False)
        elif key in self.panes:
            self.tabs.setCurrentWidget(self.panes[key])

    def capture_choices(self) -> dict[str, str]:
        """Title -> key of what can be captured now: the window, the current tab and visible docks."""
        choices = {"Whole window": "window"}
        current = self.tabs.currentWidget()
        for pane in CENTRAL_PANES:
            if self.panes[pane.key] is current:
                choices[f"Current tab: {pane.title}"] = pane.key
        for pane in DOCK_PANES:
            if self.docks[pane.key].isVisible():
                choices[f"{pane.title} pane"] = pane.key
        return choices

    def export_screenshot(self) -> ExportDialog:
        """Open the Export screenshot dialog (window-modal, in the folder of the last export); saving happens when
        it is accepted."""
        dialog = ExportDialog(self.capture_choices(), "window", self, folder=export_folder())
        dialog.accepted.connect(lambda: self.save_screenshot(dialog.key(), dialog.path()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def save_screenshot(self, key: str, path: Path) -> Path | None:
        """Save the capture of ``key`` to ``path``; errors are shown in a dialog."""
        try:
            saved = save_png(self.capture_target(key), path)
        except OSError as error:
            show_error(self, "Could not save the screenshot", str(error))
            return None
        remember_export_folder(saved)
        self.show_status(f"Saved screenshot {saved}")
        return saved

    def show_status(self, message: str) -> None:
        """Show ``message`` in the status bar for a while."""
        self.statusBar().showMessage(message, STATUS_TIMEOUT_MS)

    def reset_layout(self) -> None:
        """Put every dock back where it starts, shown or hidden for the window's width and folded as at the start."""
        size = self.size()
        self.restoreState(self._default_layout)
        self.fit_docks_to_width()
        self.resize(size)  # the docks shown for a moment by the restored state may have widened it
        for key, dock in self.docks.items():
            if key not in HIDDEN_ON_NARROW:
                dock.show()
        self._fold_for_screen()

    def fit_docks_to_width(self) -> None:
        """Hide :data:`HIDDEN_ON_NARROW` in a window narrower than :data:`WIDE_WINDOW` (show :data:`SHOWN_WHEN_WIDE`
        otherwise). Done
        when the window is made (a remembered layout then replaces it); call it again after resizing a window
        that is not shown yet (before it is shown, so that the hidden docks do not widen it)."""
        narrow = self.width() < WIDE_WINDOW
        for key in HIDDEN_ON_NARROW:
            if key in self.docks:
                self.docks[key].setVisible(not narrow and key in SHOWN_WHEN_WIDE)
        if not narrow and "predictions" in self.docks:
            self.docks["predictions"].raise_()
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the hidden docks no longer widen the window's least size

    def folded_docks(self) -> list[str]:
        """The keys of the docks folded to their title bars."""
        return [key for key, title in self.dock_titles.items() if title.collapsed]

    def set_folded(self, keys: list[str]) -> None:
        """Fold the docks named in ``keys`` and unfold the others (unknown keys are ignored)."""
        for key, title in self.dock_titles.items():
            title.set_collapsed(key in keys)

    def restore_layout(self) -> None:
        """Restore the geometry and dock layout saved in the settings, if any."""
        geometry, layout = settings.load_window()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if layout is not None:
            self.restoreState(layout)
        folded = settings.load_collapsed_docks()
        if folded is not None:
            self.set_folded(folded)

    def restore_remembered(self) -> None:
        """Restore each tool pane's remembered settings (set again once it lists the first model's layers,
        for those that depend on the layer or model) and remember its later changes; show the last tab."""
        for pane in self.panes.values():
            if isinstance(pane, ToolPane):
                values = pane.controls.remembered()
                pane.controls.restore_remembered()
                if values:
                    pane.apply_settings_when_listed(values)
        tab = settings.load_tab()
        if tab in self.panes and tab not in self.docks:
            self.tabs.setCurrentWidget(self.panes[tab])

    def current_tab(self) -> str:
        """The pane key of the current tab."""
        return next((key for key, pane in self.panes.items() if pane is self.tabs.currentWidget()), "")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Remember the layout and tab, stop background work (waiting at most :data:`CLOSE_WAIT_MS`), then close;
        first ask about an unsaved report (:class:`~cnnviz.gui.app.quit_guard.QuitGuard`)."""
        if self.quit_guard.holds(event):
            return
        self.figure_alone.restore()  # remember the docks, not their hiding
        if self.remember:
            settings.save_window(self.saveGeometry(), self.saveState())
            settings.save_tab(self.current_tab())
            settings.save_collapsed_docks(self.folded_docks())
        self.model_loader.cancel()
        self.controller.shutdown(CLOSE_WAIT_MS)
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        """Accept drops of files and image data."""
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        """Open the dropped image file or image data."""
        if open_mime_data(self.controller, event.mimeData(), "dropped image") is not None:
            event.acceptProposedAction()
        else:
            self.show_status("Nothing to open in what was dropped.")

    def _fold_for_screen(self) -> None:
        """Fold :data:`FOLDED_ON_SMALL_SCREENS` on a screen less than :data:`TALL_SCREEN` high, else unfold."""
        small = available_height(self) < TALL_SCREEN
        self.set_folded([key for key in FOLDED_ON_SMALL_SCREENS if small])

    def _model_changed(self, model: LoadedModel | None) -> None:
        self.setWindowTitle(window_title(model))
        if model is not None and self.remember and self.state.model_spec is not None:
            settings.save_model_spec(self.state.model_spec)

    def _image_changed(self, *_args: object) -> None:
        if self.remember and self.state.image_path is not None:
            settings.save_image_path(self.state.image_path)

    def _image_failed(self, message: str) -> None:
        self.show_status("Could not open the image; keeping the previous one.")
        show_error(self, "Could not open the image", message)
