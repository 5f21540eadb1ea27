"""Saving a pane's file through a dialog: suggest a name in the last export folder, remember the folder
chosen, write, and show a failure in a dialog (shared by the panes' *Export data…*, *Export CSV…* and
*Save image…* buttons)."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtWidgets import QFileDialog, QWidget

from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.dialogs import show_error

Written = TypeVar("Written")


def ask_save_path(parent: QWidget, title: str, name: str, file_filter: str) -> Path | None:
    """Ask where to save (``name`` suggested in the last export folder); remembers the folder chosen.
    None if cancelled."""
    suggested = str(settings_store.export_folder() / name)
    path, _filter = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    if not path:
        return None
    settings_store.remember_export_folder(path)
    return Path(path)


def save_with_dialog(parent: QWidget, title: str, name: str, file_filter: str,
                     write: Callable[[Path], Written], failure: str) -> Written | None:
    """:func:`ask_save_path`, then ``write(path)``; an OSError or ValueError is shown in a dialog titled
    ``failure``. Returns what ``write`` returned, None if cancelled or failed."""
    path = ask_save_path(parent, title, name, file_filter)
    if path is None:
        return None
    try:
        return write(path)
    except (OSError, ValueError) as error:
        show_error(parent, failure, str(error))
        return None
