"""What cnnviz remembers between runs (QSettings, organisation and application "cnnviz").

The settings are an INI file in the user's configuration folder (``~/.config/cnnviz/cnnviz.ini`` on
Linux, :mod:`cnnviz.gui.runtime.settings_store`); tests point ``QSettings.setPath`` for the INI format at a
temporary folder.
Remembered: the last model spec (never the permission to unpickle a file), the last image file,
the window geometry, the dock layout, which docks are folded to their title bars, the current tab and
the recent sessions and model files (each pane's own settings are kept by its
:class:`~cnnviz.gui.runtime.control_state.Controls`).
"""

import json
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QByteArray

from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.runtime.settings_store import APPLICATION, ORGANISATION, open_settings

__all__ = ["APPLICATION", "ORGANISATION", "RECENT_LIMIT", "add_recent", "clear_recent", "load_collapsed_docks",
           "load_image_path", "load_model_spec", "load_recent", "load_tab", "load_window", "open_settings",
           "save_collapsed_docks", "save_image_path", "save_model_spec", "save_tab", "save_window"]

RECENT_LIMIT = 10
"""Most entries of File → Recent."""
RecentKind = Literal["session", "model"]


def save_model_spec(spec: ModelSpec) -> None:
    """Remember ``spec`` as the last model (without its trust flag)."""
    settings = open_settings()
    settings.setValue("model/source", spec.source)
    settings.setValue("model/name", spec.name)
    settings.setValue("model/pretrained", spec.pretrained)
    settings.setValue("model/arch", spec.arch or "")
    settings.setValue("model/device", spec.device)


def load_model_spec() -> ModelSpec | None:
    """The last model spec remembered, or None."""
    settings = open_settings()
    source = str(settings.value("model/source", ""))
    name = str(settings.value("model/name", ""))
    if source not in ("default", "zoo", "file") or not name:
        return None
    return ModelSpec(
        source=source, name=name,  # type: ignore[arg-type]
        pretrained=_flag(settings.value("model/pretrained", True)),
        arch=str(settings.value("model/arch", "")) or None,
        device=str(settings.value("model/device", "cpu")) or "cpu",
    )


def save_image_path(path: Path) -> None:
    """Remember ``path`` as the last image file."""
    open_settings().setValue("image/path", str(path))


def load_image_path() -> Path | None:
    """The last image file remembered, or None."""
    value = str(open_settings().value("image/path", "") or "")
    return Path(value) if value else None


def save_window(geometry: QByteArray, state: QByteArray) -> None:
    """Remember the main window's geometry and dock layout."""
    settings = open_settings()
    settings.setValue("window/geometry", geometry)
    settings.setValue("window/state", state)


def load_window() -> tuple[QByteArray | None, QByteArray | None]:
    """The remembered (geometry, dock state) of the main window; None where nothing is stored."""
    settings = open_settings()
    geometry = settings.value("window/geometry")
    state = settings.value("window/state")
    return (geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None)


def save_tab(key: str) -> None:
    """Remember the pane key of the current tab."""
    open_settings().setValue("window/tab", key)


def load_tab() -> str:
    """The pane key of the tab current when the window last closed ("" if none)."""
    return str(open_settings().value("window/tab", "") or "")


def load_recent() -> list[tuple[RecentKind, Path]]:
    """The recent sessions and model files, newest first: (``"session"`` or ``"model"``, path)."""
    try:
        entries = json.loads(str(open_settings().value("recent/files", "[]") or "[]"))
    except ValueError:
        return []
    if not isinstance(entries, list):
        return []
    return [(entry[0], Path(entry[1])) for entry in entries
            if isinstance(entry, list) and len(entry) == 2 and entry[0] in ("session", "model")
            and isinstance(entry[1], str)][:RECENT_LIMIT]


def add_recent(kind: RecentKind, path: Path) -> list[tuple[RecentKind, Path]]:
    """Put ``path`` first in the recent files (once; the list keeps :data:`RECENT_LIMIT`); returns it."""
    path = Path(path).resolve()
    entries = [(kind, path)] + [entry for entry in load_recent() if entry[1] != path]
    _save_recent(entries[:RECENT_LIMIT])
    return entries[:RECENT_LIMIT]


def clear_recent() -> None:
    """Forget the recent files."""
    _save_recent([])


def _save_recent(entries: list[tuple[RecentKind, Path]]) -> None:
    open_settings().setValue("recent/files", json.dumps([[kind, str(path)] for kind, path in entries]))


def save_collapsed_docks(keys: list[str]) -> None:
    """Remember which docks (pane keys) are folded to their title bars."""
    open_settings().setValue("window/collapsed", ",".join(keys))


def load_collapsed_docks() -> list[str] | None:
    """The pane keys of the docks remembered folded, or None when nothing is stored."""
    value = open_settings().value("window/collapsed")
    if value is None:
        return None
    text = ",".join(value) if isinstance(value, list) else str(value)
    return [key for key in text.split(",") if key]


def _flag(value: object) -> bool:
    """A boolean read back from an INI file (where it may come back as the text "true")."""
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
