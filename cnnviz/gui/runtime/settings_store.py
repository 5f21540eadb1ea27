"""Where cnnviz keeps what it remembers: the QSettings store and the application's data folder.

The settings are an INI file in the user's configuration folder (``~/.config/cnnviz/cnnviz.ini`` on
Linux); tests point ``QSettings.setPath`` for the INI format at a temporary folder. Larger files the
app writes for the user (cached dataset scans) go under :func:`data_folder`
(``QStandardPaths.AppDataLocation``: ``~/.local/share/cnnviz/cnnviz`` on Linux, following
``XDG_DATA_HOME``). :mod:`cnnviz.gui.app.settings` holds the app-wide remembered values; panes use the
small typed helpers here for their own, and :func:`export_folder` for where their save dialogs start.
"""

from pathlib import Path
from typing import cast

from PySide6.QtCore import QSettings, QStandardPaths

from cnnviz.gui.widgets.export_dialog import default_folder

ORGANISATION = "cnnviz"
APPLICATION = "cnnviz"
EXPORT_FOLDER_KEY = "figure_export/folder"
"""Where the folder of the last export is remembered (the figure exports' key too)."""


def open_settings() -> QSettings:
    """The application's settings store."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def data_folder(name: str) -> Path:
    """The folder ``name`` under the application's data location (not created here)."""
    root = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(root or Path.home() / ".cnnviz") / name


def load_path(key: str) -> Path | None:
    """The path remembered under ``key``, or None."""
    value = str(open_settings().value(key, "") or "")
    return Path(value) if value else None


def save_path(key: str, path: Path) -> None:
    """Remember ``path`` under ``key``."""
    open_settings().setValue(key, str(path))


def load_float(key: str, default: float) -> float:
    """The number remembered under ``key``, or ``default`` when none (or no number) is stored."""
    try:
        # A float, or its text when read back from a file; anything else raises below.
        return float(cast(str | float, open_settings().value(key, default)))
    except (TypeError, ValueError):
        return default


def save_float(key: str, value: float) -> None:
    """Remember ``value`` under ``key``."""
    open_settings().setValue(key, float(value))


def load_text(key: str, default: str = "") -> str:
    """The text remembered under ``key``, or ``default`` when none is stored."""
    value = open_settings().value(key, default)
    return str(value) if value is not None else default


def save_text(key: str, value: str) -> None:
    """Remember ``value`` under ``key``."""
    open_settings().setValue(key, str(value))


def export_folder() -> Path:
    """The folder of the last export if it still exists, else the pictures (or home) folder."""
    folder = load_path(EXPORT_FOLDER_KEY)
    return folder if folder is not None and folder.is_dir() else default_folder()


def remember_export_folder(path: str | Path) -> None:
    """Remember the folder of ``path`` (a file the user just chose to export to) for the next export."""
    save_path(EXPORT_FOLDER_KEY, Path(path).expanduser().resolve().parent)
