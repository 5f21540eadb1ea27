"""The question before quitting with report figures that are not saved.

A window that remembers (:attr:`MainWindow.remember <cnnviz.gui.app.main_window.MainWindow.remember>`) and
whose Report dock has figures not saved in a session or exported since their last change
(:attr:`ReportPane.is_saved <cnnviz.gui.panes.report.pane.ReportPane.is_saved>`) does not close at once: it
asks, in a window-modal :class:`~cnnviz.gui.widgets.dialogs.ChoiceDialog` (:attr:`QuitGuard.question` while it
is open), *Save session…* (the window closes once the session is saved; cancelling the file dialog keeps it
open), *Quit anyway* (the autosave, :mod:`cnnviz.gui.app.report_autosave`, still brings the figures back at
the next start) or *Cancel*.
"""

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from cnnviz.gui.panes.report.pane import ReportPane
from cnnviz.gui.widgets.dialogs import ChoiceDialog

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

SAVE_SESSION = "Save session…"
QUIT_ANYWAY = "Quit anyway"
CANCEL = "Cancel"


def unsaved_report_dialog(parent: QWidget, count: int) -> ChoiceDialog:
    """The question for a report of ``count`` figures with unsaved changes: ``"save"``, ``"quit"`` or ``""``
    (cancel)."""
    figures = f"{count} figure{'s' if count != 1 else ''}"
    message = (f"The report ({figures}) has changes that are not saved in a session or exported.\n\n"
               "cnnviz keeps a copy that comes back at its next start, but only a session file or an "
               "exported report keeps them for good.")
    dialog = ChoiceDialog(parent, "Unsaved report", message)
    dialog.add_choice("save", SAVE_SESSION, QDialogButtonBox.ButtonRole.AcceptRole, default=True)
    dialog.add_choice("quit", QUIT_ANYWAY, QDialogButtonBox.ButtonRole.DestructiveRole)
    dialog.add_choice("", CANCEL, QDialogButtonBox.ButtonRole.RejectRole)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    return dialog


class QuitGuard(QObject):
    """Asks before ``window`` closes with an unsaved report (see the module docstring)."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.question: ChoiceDialog | None = None
        self._leaving = False

    def holds(self, event: QCloseEvent) -> bool:
        """True when the window must not close yet: ``event`` is ignored and the question asked (or raised,
        if it is open already). False when there is nothing to ask or the user already chose to quit."""
        report = self.window.panes.get("report")
        if self._leaving or not self.window.remember or not isinstance(report, ReportPane) or report.is_saved:
            return False
        event.ignore()
        if self.question is None:
            self.question = unsaved_report_dialog(self.window, len(report.items()))
            self.question.chosen.connect(self._answered)
            self.question.open()
        self.question.raise_()
        return True

    def _answered(self, key: str) -> None:
        dialog, self.question = self.question, None
        if dialog is not None:
            dialog.deleteLater()
        if key == "save" and self.window.sessions.ask_save() is None:
            self.window.show_status("The session was not saved; cnnviz stays open.")
            return
        if key in ("save", "quit"):
            self._leaving = True
            QTimer.singleShot(0, self.window.close)
