"""The Fig. 2 grid of the Dataset pane: a page of units, each as its 9 projections beside its 9 patches.

:class:`Fig2View` holds the unit order (the pane's sort), the paging (units per page, page number,
previous/next) and one :class:`UnitCell` per unit on the page. It emits ``page_changed()`` when other
units come on screen and ``unit_clicked(channel)`` when a cell is clicked; the pane fills the cells
(:meth:`Fig2View.show_unit`) as their patches arrive.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.per_dataset import top_patches
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.gui.panes.dataset.tiles import unit_atlas
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.layouts import wrapped_label

DEFAULT_PER_PAGE = 6
MAX_PER_PAGE = 48
GRID_COLUMNS = 2
ARROW_WIDTH = 36
"""Width of the previous/next page buttons, in pixels."""


def page_count(units: int, per_page: int) -> int:
    """Pages needed for ``units`` units, ``per_page`` a page (at least 1)."""
    return max(1, -(-units // max(1, per_page)))


def export_name(ds: ImageDataset | None, layer: str, page: int) -> str:
    """The file name an export of page ``page`` of ``layer`` in ``ds`` suggests."""
    return f"dataset-{ds.name if ds is not None else 'dataset'}-{layer}-page{page}"


def write_hits(png: Path, index: ScanIndex | None, ds: ImageDataset | None, layer: str,
               channels: list[int]) -> list[Path]:
    """Write the hits of ``channels`` of ``layer`` as CSV beside the figure ``png`` (``<stem>-hits.csv``);
    nothing without an index."""
    if index is None or ds is None:
        return []
    path = png.with_name(f"{png.stem}-hits.csv")
    path.write_text(top_patches.hits_csv(index, ds, layer, channels), encoding="utf-8")
    return [path]


class UnitCell(QWidget):
    """One unit: a caption over its atlas (projections | patches). ``channel`` is the unit shown
    (None: an empty cell)."""

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel: int | None = None
        self.caption = wrapped_label()
        self.view = AtlasView(colorbar=False)
        self.view.setMinimumSize(80, 40)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption, 0, 0)
        layout.addWidget(self.view, 1, 0)
        layout.setRowStretch(1, 1)
        self.view.clicked.connect(lambda _index: self._clicked())

    def show_unit(self, channel: int | None, caption: str, patches: list[HitPatch] | None,
                  input_size: tuple[int, int]) -> None:
        """Show ``channel`` with ``caption`` and its hits (None or []: not yet, or none)."""
        self.channel = channel
        self.caption.setText(caption)
        if not patches:
            self.view.clear_image()
            return
        atlas = unit_atlas(patches, input_size)
        self.view.show_atlas(atlas, (0.0, 1.0), "grey" if atlas.image.ndim == 2 else None)

    def _clicked(self) -> None:
        if self.channel is not None:
            self.clicked.emit(self.channel)


class Fig2View(QWidget):
    """Paging controls (``controls``, a row for the pane's toolbar) and the grid of unit cells."""

    page_changed = Signal()
    unit_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.order = np.zeros(0, dtype=np.int64)
        self.cells: list[UnitCell] = []
        self._shown_per_page = DEFAULT_PER_PAGE
        self._build_controls()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.placeholder = wrapped_label()
        self.grid.addWidget(self.placeholder, 0, 0, 1, GRID_COLUMNS)
        self._make_cells(DEFAULT_PER_PAGE)
        self._sync_pages()

    def _build_controls(self) -> None:
        self.per_page_spin = QSpinBox()
        self.per_page_spin.setRange(1, MAX_PER_PAGE)
        self.per_page_spin.setValue(DEFAULT_PER_PAGE)
        self.per_page_spin.setSuffix(" per page")
        self.per_page_spin.setToolTip("Units shown on a page")
        self.page_spin = QSpinBox()
        self.page_spin.setPrefix("page ")
        self.page_spin.setToolTip("Page of units (PgUp/PgDn: previous/next)")
        self.pages_label = QLabel()
        self.previous_button = QPushButton("◀")
        self.previous_button.setToolTip("Previous page (PgUp)")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next page (PgDn)")
        for button in (self.previous_button, self.next_button):
            button.setMaximumWidth(ARROW_WIDTH)
        self.controls = QHBoxLayout()
        for widget in (self.per_page_spin, self.previous_button, self.page_spin, self.pages_label,
                       self.next_button):
            self.controls.addWidget(widget)
        self.per_page_spin.valueChanged.connect(self._per_page_changed)
        self.page_spin.valueChanged.connect(lambda _page: self.page_changed.emit())
        self.previous_button.clicked.connect(lambda: self.step_page(-1))
        self.next_button.clicked.connect(lambda: self.step_page(1))

    @property
    def per_page(self) -> int:
        """Units on a page."""
        return self.per_page_spin.value()

    @property
    def page(self) -> int:
        """The page shown, from 1."""
        return self.page_spin.value()

    def set_order(self, order: Sequence[int] | np.ndarray, placeholder: str = "") -> None:
        """Page through the units ``order`` (channels, in display order) from the first page;
        ``placeholder`` shows instead of the grid when ``order`` is empty."""
        self.order = np.asarray(order, dtype=np.int64)
        self.placeholder.setText(placeholder)
        self.placeholder.setVisible(not len(self.order))
        self.page_spin.blockSignals(True)
        self.page_spin.setValue(1)
        self.page_spin.blockSignals(False)
        self._sync_pages()
        self.page_changed.emit()

    def page_channels(self) -> list[int]:
        """The channels on the page shown, in order."""
        start = (self.page - 1) * self.per_page
        return [int(c) for c in self.order[start:start + self.per_page]]

    def step_page(self, delta: int) -> None:
        """Show the page ``delta`` pages away (clamped)."""
        self.page_spin.setValue(self.page + delta)

    def cell_of(self, channel: int) -> UnitCell | None:
        """The cell showing ``channel`` on this page, or None."""
        return next((cell for cell in self.cells if cell.channel == channel and cell.isVisible()), None)

    def show_page(self, captions: dict[int, str], patches: dict[int, list[HitPatch]],
                  input_size: tuple[int, int]) -> None:
        """Fill the cells of the page: each channel with its caption and, if arrived, its patches."""
        channels = self.page_channels()
        for slot, cell in enumerate(self.cells):
            if slot < len(channels):
                channel = channels[slot]
                cell.show_unit(channel, captions.get(channel, ""), patches.get(channel), input_size)
                cell.show()
            else:
                cell.show_unit(None, "", None, input_size)
                cell.hide()

    def _make_cells(self, count: int) -> None:
        for cell in self.cells[count:]:
            self.grid.removeWidget(cell)
            cell.deleteLater()
        del self.cells[count:]
        while len(self.cells) < count:
            cell = UnitCell()
            cell.clicked.connect(self.unit_clicked.emit)
            row, col = divmod(len(self.cells), GRID_COLUMNS)
            self.grid.addWidget(cell, row + 1, col)
            self.cells.append(cell)

    def _per_page_changed(self, count: int) -> None:
        first = (self.page - 1) * self._shown_per_page
        self._shown_per_page = count
        self._make_cells(count)
        self.page_spin.blockSignals(True)
        self._sync_pages()
        self.page_spin.setValue(first // count + 1)
        self.page_spin.blockSignals(False)
        self.page_changed.emit()

    def _sync_pages(self) -> None:
        pages = page_count(len(self.order), self.per_page)
        self.page_spin.setRange(1, pages)
        self.pages_label.setText(f"of {pages}")
        for widget in (self.page_spin, self.previous_button, self.next_button):
            widget.setEnabled(pages > 1)
