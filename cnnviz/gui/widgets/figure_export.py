"""Exporting what a pane shows: its figure as PNG and, on request, the data behind it as .npy files.

Each tool pane has one :class:`FigureExport`: an "Export figure…" button for its toolbar and the same
action in the context menu of its figure. The PNG is a grab of the figure widget (exactly what is
shown, at the screen's pixel ratio); choosing the "PNG and data" file type also writes every array
the pane hands over, as ``<name>-<array>.npy`` beside the PNG. A pane may also write other files beside
every PNG (the Dataset pane's hits as CSV).
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.export_dialog import default_folder
from cnnviz.gui.widgets.screenshot import save_png

PNG_ONLY = "PNG image (*.png)"
PNG_AND_DATA = "PNG image and data as .npy (*.png)"

DataFn = Callable[[], dict[str, np.ndarray]]
ExtraFn = Callable[[Path], list[Path]]
"""Writes more files beside a saved figure (given the PNG's path); returns the paths written."""


def data_paths(path: Path, names: list[str]) -> list[Path]:
    """Where the arrays ``names`` of a figure saved at ``path`` go: ``<stem>-<name>.npy`` beside it."""
    return [path.with_name(f"{path.stem}-{name}.npy") for name in names]


def save_figure(figure: QWidget, path: str | Path, data: dict[str, np.ndarray] | None = None,
                extra: ExtraFn | None = None) -> list[Path]:
    """Save ``figure`` as PNG at ``path`` (``.png`` added if it has no suffix), each array of ``data``
    beside it (see :func:`data_paths`) and what ``extra(png_path)`` writes (e.g. a CSV beside it);
    returns every path written. Raises OSError."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    written = [save_png(figure, path)]
    arrays = data or {}
    for target, array in zip(data_paths(path, list(arrays)), arrays.values()):
        np.save(target, np.asarray(array))
        written.append(target)
    if extra is not None:
        written += extra(path)
    return written


class FigureExport(QObject):
    """The "Export figure…" button and context-menu action of one pane.

    ``figure``: the widget grabbed; ``name()``: the suggested file stem (e.g. ``filters-conv1``);
    ``data()``: the arrays offered as .npy (empty: PNG only); ``report(text)``: where to say what was
    saved (the status bar); ``extra``: writes more files beside every PNG saved (see :func:`save_figure`).
    """

    def __init__(self, figure: QWidget, name: Callable[[], str], data: DataFn,
                 report: Callable[[str], None], parent: QObject | None = None,
                 extra: ExtraFn | None = None) -> None:
        super().__init__(parent)
        self.figure, self.name, self.data, self.report = figure, name, data, report
        self.extra = extra
        self.folder = default_folder()
        self.button = QPushButton("Export figure…")
        self.button.setToolTip("Save the figure as PNG (optionally with its data as .npy)")
        self.action = QAction("Export figure…", figure)
        figure.addAction(self.action)
        figure.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.button.clicked.connect(self._clicked)
        self.action.triggered.connect(self._clicked)

    def set_enabled(self, enabled: bool) -> None:
        """Enable the button and action (disabled while there is nothing to export)."""
        self.button.setEnabled(enabled)
        self.action.setEnabled(enabled)

    def _clicked(self, _checked: bool = False) -> None:
        self.export()

    def export(self) -> list[Path] | None:
        """Ask for a file and save; None if cancelled or failed (a failure is shown in a dialog)."""
        suggested = str(self.folder / f"cnnviz-{self.name()}.png")
        path, chosen = QFileDialog.getSaveFileName(self.figure, "Export figure", suggested,
                                                   f"{PNG_ONLY};;{PNG_AND_DATA}")
        if not path:
            return None
        try:
            written = save_figure(self.figure, path, self.data() if chosen == PNG_AND_DATA else None, self.extra)
        except OSError as error:
            show_error(self.figure, "Could not export the figure", str(error))
            return None
        self.folder = written[0].parent
        extra = f" and {len(written) - 1} data file(s)" if len(written) > 1 else ""
        self.report(f"Saved figure {written[0]}{extra}")
        return written
