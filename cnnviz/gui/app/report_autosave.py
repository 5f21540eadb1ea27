"""The Report dock's figures kept between runs: autosaved on every change, brought back at the next start.

The autosave is one zip file, :func:`autosave_path` (``report/autosave.zip`` in the application's data folder,
:func:`~cnnviz.gui.runtime.settings_store.data_folder`: ``~/.local/share/cnnviz/cnnviz`` on Linux, following
``XDG_DATA_HOME``). It holds ``report.json`` (the format name and version, whether the figures were saved in a
session or exported since their last change, and each figure's title, caption as
:meth:`Caption.as_dict <cnnviz.core.files.caption.Caption.as_dict>` and edited text) and each figure as
``figures/NN.png``. It is written whole to a temporary file beside it and renamed over it (``os.replace``), so
a crash leaves the previous autosave or the new one, never half of one. Nothing is pickled: reading it runs no
code, every member is size-limited (the session file's limits) and every PNG is decoded before it is kept.

:func:`keep_autosaved` brings the autosaved figures back into a window's Report dock (a status message says
how many; a damaged autosave is ignored with a status message) and rewrites the autosave after every change
to the report and every time it is saved in a session or exported.
"""

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from cnnviz.core.files.caption import Caption
from cnnviz.core.files.report import ReportItem, png_size
from cnnviz.core.files.session_file import MAX_FIGURE_BYTES, MAX_JSON_BYTES, MAX_REPORT_BYTES, MAX_REPORT_ITEMS
from cnnviz.core.files.zip_members import read_json, read_member
from cnnviz.gui.panes.report.pane import ReportPane
from cnnviz.gui.runtime import settings_store

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

FORMAT = "cnnviz-report-autosave"
VERSION = 1
JSON_NAME = "report.json"
FOLDER = "report"
FILE_NAME = "autosave.zip"
MAX_PIXELS = 200_000_000
"""Largest figure read back (width × height, pixels)."""


def autosave_path() -> Path:
    """Where the report is autosaved (see the module docstring); the folder is not created here."""
    return settings_store.data_folder(FOLDER) / FILE_NAME


def figure_member(number: int) -> str:
    """The member holding figure ``number`` (from 1): ``figures/01.png``."""
    return f"figures/{number:02d}.png"


def report_document(items: list[ReportItem], saved: bool) -> dict[str, Any]:
    """The JSON document of ``report.json`` for ``items`` (``saved``: saved in a session or exported)."""
    return {"format": FORMAT, "format_version": VERSION, "saved": saved,
            "figures": [{"title": item.title, "file": figure_member(number), "caption": item.caption.as_dict(),
                         "text": item.text} for number, item in enumerate(items, start=1)]}


def write_report(path: str | Path, items: list[ReportItem], saved: bool) -> Path:
    """Write ``items`` (and whether they are ``saved``) to the zip file ``path``, atomically (a temporary file
    in its folder renamed over it); the folder is created. Returns ``path``; raises OSError."""
    path = Path(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, json.dumps(report_document(items, saved), indent=1, ensure_ascii=False))
        for number, item in enumerate(items, start=1):
            archive.writestr(figure_member(number), item.png, compress_type=zipfile.ZIP_STORED)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(buffer.getvalue())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_report(path: str | Path) -> tuple[list[ReportItem], bool]:
    """The figures autosaved in ``path`` and whether they were saved. Raises OSError if it cannot be read,
    ValueError (with the reason) if it is not an autosaved report this cnnviz reads."""
    try:
        with zipfile.ZipFile(path) as archive:
            document = _document(archive)
            figures = document["figures"]
            if not isinstance(figures, list) or len(figures) > MAX_REPORT_ITEMS:
                raise ValueError(f"'figures' should be a list of at most {MAX_REPORT_ITEMS}")
            items, total = [], 0
            for number, entry in enumerate(figures, start=1):
                items.append(_item(archive, entry, number))
                total += len(items[-1].png)
                if total > MAX_REPORT_BYTES:
                    raise ValueError(f"the figures are too large (over {MAX_REPORT_BYTES} bytes)")
    except zipfile.BadZipFile:
        raise ValueError("not a zip archive") from None
    return items, document["saved"] is True


def _document(archive: zipfile.ZipFile) -> dict[str, Any]:
    document = read_json(archive, JSON_NAME, MAX_JSON_BYTES)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{JSON_NAME} is not a cnnviz report autosave")
    if document.get("format_version") != VERSION:
        raise ValueError(f"unknown autosave format version {document.get('format_version')!r}")
    if "figures" not in document or not isinstance(document.get("saved"), bool):
        raise ValueError(f"{JSON_NAME} lacks 'figures' or 'saved'")
    return document


def _item(archive: zipfile.ZipFile, entry: Any, number: int) -> ReportItem:
    """Figure ``number`` of the autosave, described by ``entry``, its PNG checked by decoding it."""
    if not isinstance(entry, dict):
        raise ValueError(f"figure {number} is not a JSON object")
    title, text, name = entry.get("title"), entry.get("text"), entry.get("file")
    if not isinstance(title, str) or not isinstance(text, str) or not isinstance(name, str):
        raise ValueError(f"figure {number}: 'title', 'text' and 'file' should be text")
    png = read_member(archive, name, MAX_FIGURE_BYTES)
    _check_png(png, name)
    try:
        caption = Caption.from_dict(entry.get("caption"))
    except ValueError as error:
        raise ValueError(f"figure {number}: {error}") from None
    return ReportItem(title, png, caption, text)


def _check_png(png: bytes, name: str) -> None:
    """Raise ValueError unless ``png`` (member ``name``) is a PNG image of at most :data:`MAX_PIXELS` that
    decodes whole."""
    width, height = png_size(png)
    if width * height > MAX_PIXELS:
        raise ValueError(f"{name} is too large ({width}×{height})")
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            image.load()
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name} is not a readable PNG image: {error}") from None


def restore_report(report: ReportPane, path: Path, show_status: Callable[[str], None]) -> int:
    """Put the figures autosaved in ``path`` into ``report`` (nothing when there is no autosave) and say so
    with ``show_status``; a damaged autosave is ignored with a message. Returns the number of figures restored."""
    if not path.is_file():
        return 0
    try:
        items, saved = read_report(path)
    except (OSError, ValueError) as error:
        show_status(f"The autosaved report {path} could not be read and was ignored ({error}).")
        return 0
    if items:
        report.set_items(items, saved=saved)
        show_status(f"Restored {len(items)} report figure{'s' if len(items) != 1 else ''} from the last run.")
    return len(items)


def autosave(report: ReportPane, path: Path, show_status: Callable[[str], None]) -> bool:
    """Write ``report``'s figures to ``path`` now; a failure is shown with ``show_status`` (False)."""
    try:
        write_report(path, report.items(), report.is_saved)
    except OSError as error:
        show_status(f"Could not autosave the report to {path}: {error}")
        return False
    return True


def keep_autosaved(window: "MainWindow", path: Path | None = None) -> None:
    """Restore ``window``'s report from the autosave at ``path`` (default :func:`autosave_path`) and rewrite
    the autosave after every change to the report and every time it is saved or exported."""
    report = window.panes.get("report")
    if not isinstance(report, ReportPane):
        return
    target = path or autosave_path()
    restore_report(report, target, window.show_status)
    report.changed.connect(lambda: autosave(report, target, window.show_status))
    report.marked_saved.connect(lambda: autosave(report, target, window.show_status))
