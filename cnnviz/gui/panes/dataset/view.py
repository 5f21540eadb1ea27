"""The view of a scan in the Dataset pane: the layer shown, the Fig. 2 page (:mod:`~.fig2`) under its heading,
the enlarged unit (:mod:`~.detail`) and the unit statistics (:mod:`~.stats`).

:class:`ScanView` lists the layers of one :class:`~cnnviz.core.per_dataset.scan.ScanIndex`, keeps the projected
hits that came for it (``patches``, by (layer, channel)) and draws the scan analysis's result of what is shown
(:class:`~cnnviz.analyses.scan.ScanAnalysis`: the page of units, their pictures, the statistics). It emits
``result_wanted()`` when the layer or the page changes (the pane hands the result of what is shown back with
:meth:`ScanView.show_result`), ``patches_wanted()`` when the enlarged unit has no projected hits yet, and
``hit_chosen(layer, channel, patch)`` when a hit of the enlarged unit is clicked.
"""

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QWidget

from cnnviz.analyses import scan as scan_analysis
from cnnviz.analyses.scan import ScanAnalysis
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
    """See the module docstring. ``index``: the scan listed (None: none); ``result``: the result drawn (None:
    none); ``selected``: the enlarged unit; ``input_size``: the model's input (h, w) in pixels. Widgets:
    ``layer_combo`` (in ``row``, the pane adds its own controls), ``fig2``, ``heading``, ``detail``, ``stats``
    and ``tabs`` (once :meth:`add_figure` placed the figure)."""

    result_wanted = Signal()
    patches_wanted = Signal()
    hit_chosen = Signal(str, int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index: ScanIndex | None = None
        self.result: ScanAnalysis | None = None
        self.patches: dict[tuple[str, int], list[HitPatch]] = {}
        self.selected: int | None = None
        self.input_size: tuple[int, int] = (1, 1)
        self._detail_drawn: tuple[str, int, bool] | None = None
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
        self.fig2.page_changed.connect(self.result_wanted.emit)
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
        """List the layers of ``index`` (None: show ``waiting``, or a hint) and show the layer chosen; forgets
        the projected hits of the previous one."""
        self.index = index
        self.patches.clear()
        layer = self.view_layer
        self.layer_combo.clear()
        for name in index.layers if index is not None else []:
            self.layer_combo.addItem(name, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(layer)))
        self.show_layer(waiting)

    def show_layer(self, waiting: str = "") -> None:
        """Show the layer chosen from its first page (the pane's result follows, ``result_wanted``); nothing
        but ``waiting`` or a hint without an index."""
        self.selected, self._detail_drawn = None, None
        self.detail.clear()
        if self.index is None or not self.view_layer:
            self.show_result(None, waiting or "Scan a dataset to see what its units detect.")
            return
        self.fig2.first_page()
        self.result_wanted.emit()

    def show_result(self, result: ScanAnalysis | None, waiting: str = "") -> None:
        """Draw ``result`` (the page of the layer shown, its statistics, the enlarged unit; None: ``waiting``)."""
        self.result = result
        self.fig2.show_result(result, waiting)
        if result is None:
            self.stats.clear()
            self.heading.clear()
            return
        order = SORT_TITLES[result.settings.sort].lower()
        self.heading.setText(f"<b>{result.layer}</b> on {result.head.dataset}: each unit's {result.index.k} "
                             f"strongest images — deconvnet projections (left) and image patches (right), sorted "
                             f"by {order}, page {result.settings.page}")
        self.stats.show_result(result)
        self._show_detail()

    def missing_channels(self) -> tuple[int, ...]:
        """The units on screen (the page and the enlarged one) without projected hits yet."""
        layer = self.view_layer
        page = self.result.channels.tolist() if self.result is not None else []
        wanted = page + ([self.selected] if self.selected is not None else [])
        return tuple(dict.fromkeys(int(c) for c in wanted if (layer, c) not in self.patches))

    def add_patches(self, layer: str, found: dict[int, list[HitPatch]]) -> list[int]:
        """Keep the projected hits ``found`` (channel -> hits, best first) of ``layer``; returns the channels
        that were new."""
        new = [c for c in found if (layer, c) not in self.patches]
        for channel in new:
            self.patches[(layer, channel)] = found[channel]
        return new

    def select_unit(self, channel: int) -> None:
        """Enlarge unit ``channel`` of the layer shown (and draw its class profile)."""
        if self.result is None:
            return
        self.selected = channel
        self.stats.select_unit(channel)
        self._show_detail()
        self.patches_wanted.emit()

    def _show_detail(self) -> None:
        channel, layer, result = self.selected, self.view_layer, self.result
        if channel is None or result is None:
            return
        patches = self.patches.get((layer, channel))
        drawn = (layer, channel, patches is not None)
        if drawn == self._detail_drawn:
            return
        self._detail_drawn = drawn
        title = f"<b>{layer}</b> · unit {channel}"
        if patches is None:
            self.detail.clear(f"{title}: projecting…")
            return
        projections, crops = scan_analysis.pictures({channel: patches}, np.asarray([channel]), result.index.k,
                                                    self.input_size)
        self.detail.show_unit(title, patches, projections[0], crops[0])

    def _hit_clicked(self, rank: int) -> None:
        layer, channel = self.view_layer, self.selected
        patches = self.patches.get((layer, channel)) if channel is not None else None
        if channel is not None and patches is not None and 0 <= rank < len(patches):
            self.hit_chosen.emit(layer, channel, patches[rank])
