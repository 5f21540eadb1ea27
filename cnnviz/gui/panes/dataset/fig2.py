"""The Fig. 2 grid of the Dataset pane: a page of units, each as its 9 projections beside its 9 patches.

:class:`Fig2View` draws the page of a :class:`~cnnviz.analyses.scan.ScanAnalysis` (its ``channels``, their
``projections`` and ``patches``, the unit order ``order``) in one :class:`UnitCell` per unit, and holds the
paging (units per page, page number, previous/next). It emits ``page_changed()`` when the user asks for other
units (the pane then hands it the result of that page) and ``unit_clicked(channel)`` when a cell is clicked.
"""

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from cnnviz.analyses.scan import ScanAnalysis
from cnnviz.core.data.datasets import ImageDataset
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


def write_hits(png: Path, result: ScanAnalysis | None) -> list[Path]:
    """Write the hits of the units ``result`` shows (:attr:`~cnnviz.analyses.scan.ScanAnalysis.hits`) as CSV
    beside the figure ``png`` (``<stem>-hits.csv``); nothing without a result."""
    if result is None:
        return []
    path = png.with_name(f"{png.stem}-hits.csv")
    path.write_text(result.hits, encoding="utf-8")
    return [path]


def unit_caption(result: ScanAnalysis, channel: int) -> str:
    """The caption of unit ``channel`` in ``result``: its number, largest score and fire rate, and whether it
    is still being projected."""
    stats = result.stats
    return (f"<b>unit {channel}</b> · max {stats.max[channel]:.3g} · fires {stats.fire_rate[channel]:.0%}"
            + ("" if channel in result.hit_patches else " · projecting…"))


class UnitCell(QWidget):
    """One unit: a caption over its atlas (projections | patches). ``channel`` is the unit shown
    (None: an empty cell); ``drawn`` what it draws (channel, caption, tile shape or None)."""

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel: int | None = None
        self.drawn: tuple[int | None, str, tuple[int, ...] | None] | None = None
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

    def show_unit(self, channel: int | None, caption: str, pictures: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Show ``channel`` with ``caption`` and its ``pictures`` (projections, patches [k, h, w(, 3)]; None: not
        projected yet, or no hit); redraws only what changed since the last call."""
        drawn = (channel, caption, None if pictures is None else pictures[0].shape)
        if drawn == self.drawn:
            return
        self.channel, self.drawn = channel, drawn
        self.caption.setText(caption)
        if pictures is None:
            self.view.clear_image()
            return
        atlas = unit_atlas(*pictures)
        self.view.show_atlas(atlas, (0.0, 1.0), "grey" if atlas.image.ndim == 2 else None)

    def forget(self) -> None:
        """Draw the next :meth:`show_unit` whatever it shows (the pictures of another scan or layer)."""
        self.drawn = None

    def _clicked(self) -> None:
        if self.channel is not None:
            self.clicked.emit(self.channel)


class Fig2View(QWidget):
    """Paging controls (``controls``, a row for the pane's toolbar) and the grid of unit cells; ``result`` is
    the result drawn (None: none), ``order`` its unit order."""

    page_changed = Signal()
    unit_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: ScanAnalysis | None = None
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

    def show_result(self, result: ScanAnalysis | None, placeholder: str = "") -> None:
        """Draw the page of ``result`` (its order paged, its page and units; None: ``placeholder`` instead of the
        grid); cells whose unit and pictures did not change are left as they are."""
        last = self.result
        fresh = result is None or last is None or result.index is not last.index or result.layer != last.layer
        self.result = result
        self.order = result.order if result is not None else np.zeros(0, dtype=np.int64)
        self.placeholder.setText(placeholder)
        self.placeholder.setVisible(result is None)
        self.page_spin.blockSignals(True)
        self._sync_pages()
        self.page_spin.setValue(result.settings.page if result is not None else 1)
        self.page_spin.blockSignals(False)
        channels = result.channels.tolist() if result is not None else []
        for slot, cell in enumerate(self.cells):
            if fresh:
                cell.forget()
            if result is None or slot >= len(channels):
                cell.show_unit(None, "", None)
                cell.hide()
                continue
            channel = channels[slot]
            pictures = None
            if result.hit_patches.get(channel) and result.projections is not None and result.patches is not None:
                pictures = (result.projections[slot], result.patches[slot])
            cell.show_unit(channel, unit_caption(result, channel), pictures)
            cell.show()

    def first_page(self) -> None:
        """Go back to the first page without emitting ``page_changed`` (another order or layer follows)."""
        self.page_spin.blockSignals(True)
        self.page_spin.setValue(1)
        self.page_spin.blockSignals(False)

    def page_channels(self) -> list[int]:
        """The channels on the page shown, in order."""
        start = (self.page - 1) * self.per_page
        return [int(c) for c in self.order[start:start + self.per_page]]

    def step_page(self, delta: int) -> None:
        """Show the page ``delta`` pages away (clamped)."""
        self.page_spin.setValue(self.page + delta)

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
