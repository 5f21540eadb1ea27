"""Exporting what a pane shows: its figure as PNG, SVG and PDF, and the data behind it as .npy and CSV.

Each tool pane has one :class:`FigureExport`: an "Export figure…" button for its toolbar and the same
action in the context menu of its figure. The figure is rendered for the export
(:mod:`~cnnviz.gui.widgets.figure_render`: a chosen width and DPI, the same whatever the window's size,
no hover marks, a caption strip naming model, image and parameters), not grabbed from the screen.
:meth:`FigureExport.write` writes every format asked for under one file stem; the dialog
(:mod:`~cnnviz.gui.widgets.figure_export_dialog`) asks for the stem, formats and options, which are
remembered (with the folder) in the ``memory`` the pane hands over: one value for every pane (the keys under
:data:`MEMORY_KEY`), read again each time the dialog opens, so that an export from one pane proposes its folder,
formats and options in every other; only the file name is the pane's own. A pane may also write other files
beside the figure with the CSV data (the Dataset pane's hits).
"""

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from matplotlib.figure import Figure
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QPushButton, QWidget

from cnnviz.analyses import figures
from cnnviz.core.files.caption import Caption, with_comments
from cnnviz.core.tables import array_csv
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.export_dialog import default_folder
from cnnviz.gui.widgets.figure_export_dialog import (
    DATA_FORMATS,
    FORMAT_TITLES,
    ExportChoice,
    FigureExportDialog,
    export_stem,
)
from cnnviz.gui.widgets.figure_render import SAVERS, ExportOptions

PNG_ONLY = "PNG image (*.png)"
PNG_AND_DATA = "PNG image and data as .npy (*.png)"
MEMORY_KEY = "figure_export"

DataFn = Callable[[], dict[str, np.ndarray]]
ReportFigureFn = Callable[[ExportOptions], Figure | None]
"""Draws the report figure (matplotlib) at the export options; None where the pane has none to draw."""
ExtraFn = Callable[[Path], list[Path]]
"""Writes more files beside a saved figure (given the PNG's path, written or not); returns the paths written."""


class ExportMemory(Protocol):
    """Where the export options and folder are remembered (e.g. :mod:`cnnviz.gui.runtime.settings_store`)."""

    def load_text(self, key: str, default: str = "") -> str:
        """The text stored under ``key``, or ``default``."""

    def save_text(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""


def data_paths(path: Path, names: list[str]) -> list[Path]:
    """Where the arrays ``names`` of a figure saved at ``path`` go: ``<stem>-<name>.npy`` beside it."""
    return [path.with_name(f"{path.stem}-{name}.npy") for name in names]


def save_figure(figure: QWidget, path: str | Path, data: dict[str, np.ndarray] | None = None,
                extra: ExtraFn | None = None) -> list[Path]:
    """Render ``figure`` as PNG at ``path`` (``.png`` added if it has no suffix; default options, no
    caption), each array of ``data`` beside it (see :func:`data_paths`) and what ``extra(png_path)``
    writes; returns every path written. Raises OSError."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    written = [SAVERS["png"](figure, path)]
    arrays = data or {}
    for target, array in zip(data_paths(path, list(arrays)), arrays.values()):
        np.save(target, np.asarray(array))
        written.append(target)
    if extra is not None:
        written += extra(path)
    return written


def _commented(paths: list[Path], caption: Caption | None) -> list[Path]:
    """``paths``, the CSV files among them given ``caption``'s comment lines at the top."""
    for path in paths:
        if caption is not None and path.suffix.lower() == ".csv":
            path.write_text(with_comments(path.read_text(encoding="utf-8"), caption), encoding="utf-8")
    return paths


def _options_text(options: ExportOptions) -> str:
    return json.dumps({"width_mm": options.width_mm, "dpi": options.dpi, "width_px": options.width_px,
                       "caption": options.caption})


def _options_from(text: str) -> ExportOptions:
    try:
        values = json.loads(text)
        width_px = values.get("width_px")
        return ExportOptions(width_mm=float(values["width_mm"]), dpi=int(values["dpi"]),
                             width_px=int(width_px) if width_px else None, caption=bool(values["caption"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return ExportOptions()


class FigureExport(QObject):
    """The "Export figure…" button and context-menu action of one pane.

    ``figure``: the widget rendered; ``name()``: the suggested file stem (e.g. ``filters-conv1``);
    ``data()``: the arrays offered as .npy and CSV; ``report(text)``: where to say what was saved (the
    status bar); ``extra(png_path)``: writes the pane's own tables beside the figure when CSV is asked
    for; ``caption()``: the figure's caption (None: no caption strip or CSV comments); ``memory``:
    where the options, formats and folder are remembered (None: not remembered); ``report_figure(options)``:
    the analysis's matplotlib report figure at those options (None while there is none: the widget is
    rendered instead).
    """

    def __init__(self, figure: QWidget, name: Callable[[], str], data: DataFn,
                 report: Callable[[str], None], parent: QObject | None = None,
                 extra: ExtraFn | None = None, *, caption: Callable[[], Caption] | None = None,
                 memory: ExportMemory | None = None, report_figure: ReportFigureFn | None = None) -> None:
        super().__init__(parent)
        self.figure, self.name, self.data, self.report = figure, name, data, report
        self.report_figure = report_figure
        self.extra, self.caption, self.memory = extra, caption, memory
        self.folder = default_folder()
        self.options = ExportOptions()
        self.formats: tuple[str, ...] = ("png",)
        self._recall()
        self.button = QPushButton("Export figure…")
        self.button.setToolTip("Save the figure as PNG, SVG or PDF with a caption (optionally with its data)")
        self.action = QAction("Export figure…", figure)
        figure.addAction(self.action)
        figure.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.button.clicked.connect(self._clicked)
        self.action.triggered.connect(self._clicked)

    def set_enabled(self, enabled: bool) -> None:
        """Enable the button and action (disabled while there is nothing to export)."""
        self.button.setEnabled(enabled)
        self.action.setEnabled(enabled)

    def current_caption(self) -> Caption | None:
        """The figure's caption now (None without a ``caption`` function)."""
        return self.caption() if self.caption is not None else None

    def write(self, stem: Path, formats: Sequence[str], options: ExportOptions | None = None,
              caption: Caption | None = None) -> list[Path]:
        """Write ``<stem>.png/.svg/.pdf`` for the figure formats in ``formats``, each array of
        ``data()`` as ``<stem>-<name>.npy`` for ``"npy"`` and, for ``"csv"``, as ``<stem>-<name>.csv``
        (1-D and 2-D arrays) with the pane's ``extra`` files, every CSV headed by the caption's fields
        (partial flag included) as ``#`` comments. ``options``: default the remembered ones; ``caption``: default the
        pane's. Returns the paths written; raises OSError (ValueError for an unknown format)."""
        unknown = [f for f in formats if f not in FORMAT_TITLES]
        if unknown:
            raise ValueError(f"unknown export format(s) {', '.join(unknown)}; known: {', '.join(FORMAT_TITLES)}")
        options = options or self.options
        caption = caption if caption is not None else self.current_caption()
        stem = export_stem(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        drawn = self.report_figure(options) if self.report_figure is not None else None
        if drawn is not None:
            written = [figures.save(drawn, stem.with_name(f"{stem.name}.{f}")) for f in formats if f in SAVERS]
        else:
            written = [SAVERS[f](self.figure, stem.with_name(f"{stem.name}.{f}"), options, caption)
                       for f in formats if f in SAVERS]
        arrays = self.data() if set(formats) & set(DATA_FORMATS) else {}
        if "npy" in formats:
            for target, array in zip(data_paths(stem.with_name(f"{stem.name}.png"), list(arrays)), arrays.values()):
                np.save(target, np.asarray(array))
                written.append(target)
        if "csv" in formats:
            written += self._write_csv(stem, arrays, caption)
            if self.extra is not None:
                written += _commented(self.extra(stem.with_name(f"{stem.name}.png")), caption)
        return written

    def _write_csv(self, stem: Path, arrays: dict[str, np.ndarray], caption: Caption | None) -> list[Path]:
        written = []
        for name, array in arrays.items():
            table = array_csv(name, array)
            if table is None:
                continue
            target = stem.with_name(f"{stem.name}-{name}.csv")
            target.write_text(with_comments(table, caption) if caption is not None else table, encoding="utf-8")
            written.append(target)
        return written

    def ask(self) -> ExportChoice | None:
        """Ask where and how to export (the dialog, proposing the folder, formats and options last remembered
        by any pane); None if cancelled."""
        self._recall()
        offered = ("npy", "csv") if self.data() else ("csv",) if self.extra is not None else ()
        suggested = self.folder / f"cnnviz-{self.name()}.{self.formats[0] if self.formats else 'png'}"
        dialog = FigureExportDialog(suggested, self.formats, self.options, offered, self.figure.window())
        try:
            return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def export(self) -> list[Path] | None:
        """Ask for a file, formats and options and save; None if cancelled or failed (a failure is
        shown in a dialog). The choices are remembered for the next export."""
        choice = self.ask()
        if choice is None or not choice.formats:
            return None
        try:
            written = self.write(choice.stem, choice.formats, choice.options)
        except OSError as error:
            show_error(self.figure, "Could not export the figure", str(error))
            return None
        self.folder, self.formats, self.options = choice.stem.parent, choice.formats, choice.options
        self._remember()
        if not written:
            self.report("Nothing to export in the formats chosen")
            return written
        more = f" and {len(written) - 1} more file(s)" if len(written) > 1 else ""
        self.report(f"Saved figure {written[0]}{more}")
        return written

    def _recall(self) -> None:
        if self.memory is None:
            return
        folder = self.memory.load_text(f"{MEMORY_KEY}/folder", "")
        if folder and Path(folder).is_dir():
            self.folder = Path(folder)
        self.options = _options_from(self.memory.load_text(f"{MEMORY_KEY}/options", ""))
        remembered = self.memory.load_text(f"{MEMORY_KEY}/formats", "png").split(",")
        self.formats = tuple(f for f in remembered if f in FORMAT_TITLES) or ("png",)

    def _remember(self) -> None:
        if self.memory is None:
            return
        self.memory.save_text(f"{MEMORY_KEY}/folder", str(self.folder))
        self.memory.save_text(f"{MEMORY_KEY}/options", _options_text(self.options))
        self.memory.save_text(f"{MEMORY_KEY}/formats", ",".join(self.formats))

    def _clicked(self, _checked: bool = False) -> None:
        self.export()
