"""The view of a scan in the Dataset pane: the layer shown, the Fig. 2 page (:mod:`~.fig2`) under its heading,
the enlarged unit (:mod:`~.detail`) and the unit statistics (:mod:`~.stats`).

:class:`ScanView` shows one :class:`~cnnviz.core.per_dataset.scan.ScanIndex` and the Fig. 2 patches computed
for it so far (``patches``, by (layer, channel)); it emits ``patches_wanted()`` when units without patches come
on screen (the pane computes them and hands them back with :meth:`ScanView.add_patches`) and
``hit_chosen(layer, channel, patch)`` when a hit of the enlarged unit is clicked.
"""

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QWidget

from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.gui.panes.dataset.detail import UnitDetail
from cnnviz.gui.panes.dataset.fig2 import Fig2View
from cnnviz.gui.panes.dataset.stats import StatsView
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.control_values import Control
from cnnviz.gui.widgets.layouts import grid_and_detail, wrapped_label

SORT_TITLES = {"index": "Unit number", "max": "Largest score", "fire_rate": "Fire rate",
               "selectivity": "Class selectivity"}
"""The unit orders of :data:`cnnviz.core.per_dataset.scan_index.SORT_KEYS` as the sort combo box shows them."""


def offer_selectivity(combo: Control, labelled: bool) -> None:
    """Enable the sort combo box's "selectivity" item only for a ``labelled`` scan (else a chosen selectivity
    order falls back to the unit number)."""
    assert isinstance(combo, QComboBox)
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    item = model.item(combo.findData("selectivity"))
    item.setEnabled(labelled)
    item.setToolTip("" if labelled else "Class selectivity needs a dataset with class labels")
    if not labelled and combo.currentData() == "selectivity":
        combo.setCurrentIndex(combo.findData("index"))


class ScanView(QWidget):
    """See the module docstring. ``sort()`` gives the unit order chosen (a key of :data:`SORT_TITLES`);
    ``input_size`` is the model's input (h, w) in pixels, ``dataset_name`` what the heading calls the dataset.
    Widgets: ``layer_combo`` (in ``row``, the pane adds its own controls), ``fig2``, ``heading``, ``detail``,
    ``stats`` and ``tabs`` (once :meth:`add_figure` placed the figure)."""

    patches_wanted = Signal()
    hit_chosen = Signal(str, int, object)

    def __init__(self, sort: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sort = sort
        self.index: ScanIndex | None = None
        self.patches: dict[tuple[str, int], list[HitPatch]] = {}
        self.selected: int | None = None
        self.input_size: tuple[int, int] = (1, 1)
        self.dataset_name = "none"
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer of the scan shown")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setMinimumContentsLength(14)
        shrinkable(self.layer_combo)
        self.row = QHBoxLayout()
        self.row.addWidget(QLabel("Layer"))
        self.row.addWidget(self.layer_combo, 1)
        self.fig2 = Fig2View()
        self.heading = wrapped_label()
        self.detail = UnitDetail()
        self.stats = StatsView()
        self.tabs = QTabWidget()
        self.layer_combo.activated.connect(lambda _i: self.show_layer())
        self.fig2.page_changed.connect(self.show_page)
        self.fig2.unit_clicked.connect(self.select_unit)
        self.stats.unit_chosen.connect(self.select_unit)
        self.detail.hit_chosen.connect(self._hit_clicked)

    @property
    def view_layer(self) -> str:
        """The layer shown ("" with no index)."""
        return str(self.layer_combo.currentData() or "")

    def add_figure(self, area: QWidget) -> None:
        """Put ``area`` (the pane's figure: :attr:`heading` over :attr:`fig2`) beside the enlarged unit on the
        Fig. 2 tab, the statistics on the second tab."""
        self.tabs.addTab(grid_and_detail(area, self.detail), "Fig. 2")
        self.tabs.addTab(self.stats, "Unit statistics")

    def set_index(self, index: ScanIndex | None, waiting: str = "") -> None:
        """Show ``index`` (None: ``waiting``, or a hint); forgets the patches of the previous one."""
        self.index = index
        self.patches.clear()
        layer = self.view_layer
        self.layer_combo.clear()
        for name in index.layers if index is not None else []:
            self.layer_combo.addItem(name, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(layer)))
        self.show_layer(waiting)

    def show_layer(self, waiting: str = "") -> None:
        """Show the layer chosen from its first page in the current order (nothing but ``waiting`` or a hint
        without an index)."""
        index, layer = self.index, self.view_layer
        self.selected = None
        self.detail.clear()
        if index is None or not layer:
            self.fig2.set_order([], waiting or "Scan a dataset to see what its units detect.")
            self.stats.clear()
            self.heading.clear()
            return
        self.stats.show_layer(index, layer)
        self.fig2.set_order(index.order(layer, self.sort()))

    def show_page(self) -> None:
        """Fill the Fig. 2 page shown (the patches computed so far) and ask for the missing ones."""
        index, layer = self.index, self.view_layer
        if index is None or not layer:
            return
        order = SORT_TITLES[self.sort()].lower()
        self.heading.setText(f"<b>{layer}</b> on {self.dataset_name}: each unit's {index.k} strongest images — "
                             f"deconvnet projections (left) and image patches (right), sorted by {order}, "
                             f"page {self.fig2.page}")
        channels = self.fig2.page_channels()
        shown = {c: self.patches[(layer, c)] for c in channels if (layer, c) in self.patches}
        self.fig2.show_page(self.unit_captions(channels), shown, self.input_size)
        self.patches_wanted.emit()

    def unit_captions(self, channels: list[int]) -> dict[int, str]:
        """The caption of each of ``channels`` of the layer shown: its number, largest score and fire rate."""
        if self.index is None:
            return {}
        stats = self.index.stats(self.view_layer)
        return {c: f"<b>unit {c}</b> · max {stats.max[c]:.3g} · fires {stats.fire_rate[c]:.0%}"
                + ("" if (self.view_layer, c) in self.patches else " · projecting…") for c in channels}

    def missing_channels(self) -> tuple[int, ...]:
        """The units on screen (the page and the enlarged one) whose patches are not computed yet."""
        layer = self.view_layer
        wanted = self.fig2.page_channels() + ([self.selected] if self.selected is not None else [])
        return tuple(dict.fromkeys(c for c in wanted if (layer, c) not in self.patches))

    def add_patches(self, layer: str, found: dict[int, list[HitPatch]]) -> None:
        """Keep the patches ``found`` (channel -> hits, best first) of ``layer`` and draw those on screen."""
        new = [c for c in found if (layer, c) not in self.patches]
        for channel in new:
            self.patches[(layer, channel)] = found[channel]
        if layer != self.view_layer:
            return
        captions = self.unit_captions(new)
        for channel in new:
            cell = self.fig2.cell_of(channel)
            if cell is not None:
                cell.show_unit(channel, captions[channel], found[channel], self.input_size)
        if self.selected in new:
            self._show_detail()

    def select_unit(self, channel: int) -> None:
        """Enlarge unit ``channel`` of the layer shown (and draw its class profile)."""
        if self.index is None:
            return
        self.selected = channel
        self.stats.select_unit(channel)
        self._show_detail()
        self.patches_wanted.emit()

    def _show_detail(self) -> None:
        channel, layer = self.selected, self.view_layer
        if channel is None or self.index is None:
            return
        patches = self.patches.get((layer, channel))
        title = f"<b>{layer}</b> · unit {channel}"
        if patches is None:
            self.detail.clear(f"{title}: projecting…")
        else:
            self.detail.show_unit(title, patches, self.input_size)

    def _hit_clicked(self, rank: int) -> None:
        layer, channel = self.view_layer, self.selected
        patches = self.patches.get((layer, channel)) if channel is not None else None
        if channel is not None and patches is not None and 0 <= rank < len(patches):
            self.hit_chosen.emit(layer, channel, patches[rank])
