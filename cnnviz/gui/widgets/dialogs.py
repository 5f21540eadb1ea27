"""Message dialogs: plain errors, and questions whose answer continues a background flow.

:func:`show_error` uses ``QMessageBox.critical``. A :class:`ChoiceDialog` is opened window-modal with
``open()`` (no nested event loop) and emits ``chosen(key)`` with the key of the button pressed, or
``chosen("")`` when closed otherwise.
"""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.model.models import UntrustedFileError, WeightsDownloadError


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """Show ``message`` in a modal error box titled ``title``."""
    QMessageBox.critical(parent, title, message)


class ChoiceDialog(QDialog):
    """A message with an icon and buttons; pressing a button closes it and emits its key."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None, title: str, message: str,
                 icon: QStyle.StandardPixmap = QStyle.StandardPixmap.SP_MessageBoxWarning) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._key = ""
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumWidth(460)
        picture = QLabel()
        picture.setPixmap(self.style().standardIcon(icon).pixmap(48, 48))
        top = QHBoxLayout()
        top.addWidget(picture, 0)
        top.addWidget(self.message, 1)
        self.extras = QHBoxLayout()
        self.buttons = QDialogButtonBox()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.extras)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda _result: self.chosen.emit(self._key))

    def add_choice(self, key: str, text: str, role: QDialogButtonBox.ButtonRole,
                   default: bool = False) -> QPushButton:
        """Add a button that closes the dialog with ``key``."""
        button = self.buttons.addButton(text, role)
        button.setDefault(default)
        button.clicked.connect(lambda: self._choose(key))
        return button

    def add_action(self, text: str, action: Callable[[], object]) -> QPushButton:
        """Add a button that runs ``action()`` and leaves the dialog open."""
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.clicked.connect(lambda: action())
        self.extras.addWidget(button)
        return button

    def button(self, text: str) -> QPushButton | None:
        """The button labelled ``text`` (for tests and automation)."""
        for button in self.findChildren(QPushButton):
            if button.text() == text:
                return button
        return None

    def _choose(self, key: str) -> None:
        self._key = key
        self.accept()


LOAD_UNTRAINED = "Load untrained (random weights)"
TRUST_FILE = "Load anyway (I trust this file)"


def download_failed_dialog(parent: QWidget | None, error: WeightsDownloadError) -> ChoiceDialog:
    """The dialog for weights that could not be downloaded: ``"untrained"`` or ``""`` (cancel)."""
    dialog = ChoiceDialog(parent, "Pretrained weights not available", str(error))
    dialog.add_action("Copy URL", lambda: copy_text(error.url)).setToolTip(
        "Copy the weights' address, to download them on a machine with internet")
    dialog.add_action("Copy folder path", lambda: copy_text(str(error.folder)))
    dialog.add_action("Open folder", lambda: open_folder(error.folder))
    dialog.extras.addStretch(1)
    dialog.add_choice("untrained", LOAD_UNTRAINED, QDialogButtonBox.ButtonRole.AcceptRole, default=True)
    dialog.add_choice("", "Cancel", QDialogButtonBox.ButtonRole.RejectRole)
    return dialog


def untrusted_file_dialog(parent: QWidget | None, error: UntrustedFileError) -> ChoiceDialog:
    """The warning before unpickling a whole-model file: ``"trust"`` or ``""`` (cancel)."""
    message = (f"{error}\n\nThat code runs with your permissions. Only continue if you know where "
               "the file comes from.")
    dialog = ChoiceDialog(parent, "Untrusted model file", message)
    dialog.add_choice("trust", TRUST_FILE, QDialogButtonBox.ButtonRole.AcceptRole)
    dialog.add_choice("", "Cancel", QDialogButtonBox.ButtonRole.RejectRole, default=True)
    return dialog


def copy_text(text: str) -> None:
    """Put ``text`` on the clipboard."""
    QGuiApplication.clipboard().setText(text)


def open_folder(folder: Path) -> None:
    """Create ``folder`` if needed and show it in the desktop's file manager."""
    folder.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
