"""The enlarged unit of the Dataset pane: one unit's 9 projections and 9 patches (its pictures as the scan
analysis tiles them, :func:`cnnviz.analyses.scan.pictures`), and a table of its projected hits (image file,
label, activation, position). Clicking a hit (in the picture, or activating its row)
emits ``hit_chosen(rank)``; the pane then opens that image in the Deconvnet pane."""

from html import escape

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.gui.panes.dataset.tiles import hit_of_tile, unit_atlas
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.layouts import stack, wrapped_label

COLUMNS = ("#", "File", "Label", "Activation", "Position")


def hit_row(patch: HitPatch) -> tuple[str, ...]:
    """The table cells of one hit: rank (from 1), file, label, activation and position."""
    position = "" if patch.hit.position is None else f"{patch.hit.position}"
    return (str(patch.rank + 1), patch.name, patch.label, f"{patch.hit.activation:.4g}", position)


class UnitDetail(QWidget):
    """The selected unit, enlarged; ``patches`` are its hits shown (best first)."""

    hit_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patches: list[HitPatch] = []
        self.title = wrapped_label()
        self.view = AtlasView(colorbar=False)
        self.view.setMinimumSize(130, 70)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.hint = wrapped_label()
        stack(self, self.title, self.view, self.table, self.hint, stretch=(1, 2))
        self.view.clicked.connect(self._tile_clicked)
        self.view.hovered.connect(self._tile_hovered)
        self.table.cellActivated.connect(lambda row, _col: self.hit_chosen.emit(row))
        self.clear()

    def clear(self, text: str = "Click a unit to see its hits.") -> None:
        """Show nothing but ``text``."""
        self.patches = []
        self.view.clear_image()
        self.table.setRowCount(0)
        self.title.setText(text)
        self.hint.clear()

    def show_unit(self, title: str, patches: list[HitPatch], projections: np.ndarray, crops: np.ndarray) -> None:
        """Show the hits ``patches`` (best first) under ``title`` (HTML), drawn as their ``projections`` and
        image patches ``crops`` [k, h, w(, 3)] (float32 in [0, 1], NaN blank)."""
        self.patches = list(patches)
        self.title.setText(title)
        self.table.setRowCount(len(patches))
        for row, patch in enumerate(patches):
            for col, text in enumerate(hit_row(patch)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col in (0, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        if patches:
            atlas = unit_atlas(projections, crops)
            self.view.show_atlas(atlas, (0.0, 1.0), "grey" if atlas.image.ndim == 2 else None)
            self.hint.setText("Projections (left) and image patches (right), best first. Click a hit (or "
                              "double-click its row) to open its image in the Deconvnet pane.")
        else:
            self.view.clear_image()
            self.hint.setText("No hit: the scan scored no image.")

    def _tile_clicked(self, index: int) -> None:
        rank = hit_of_tile(index)
        if rank is not None and rank < len(self.patches):
            self.table.selectRow(rank)
            self.hit_chosen.emit(rank)

    def _tile_hovered(self, index: int) -> None:
        rank = hit_of_tile(index)
        if rank is None or rank >= len(self.patches):
            self.view.setToolTip("")
            return
        patch = self.patches[rank]
        label = f" ({escape(patch.label)})" if patch.label else ""
        self.view.setToolTip(f"{rank + 1}: {escape(patch.name)}{label} · activation {patch.hit.activation:.4g}")
