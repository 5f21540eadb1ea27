"""The unit statistics of the Dataset pane, drawn from the scan analysis's result
(:class:`~cnnviz.analyses.scan.ScanAnalysis`: its ``stats``, ``dead`` and ``nearly_dead``): the histogram of a
layer's fire rates, its dead units (never fired on the dataset) and nearly dead ones (fire rate at most a
threshold the user sets, remembered; the pane's result follows it), and, with labels, the class profile of one
unit (its mean score per class). "Copy dead units as CSV"
puts the listed units' statistics on the clipboard (:func:`cnnviz.core.per_dataset.top_patches.units_csv`)."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from cnnviz.analyses.scan import ScanAnalysis
from cnnviz.core.per_dataset import top_patches
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.image_view import BACKGROUND
from cnnviz.gui.widgets.layouts import option_row, wrapped_label

THRESHOLD_KEY = "dataset/nearly_dead"
DEFAULT_THRESHOLD = 0.01
HISTOGRAM_BINS = 20
BAR_COLOUR = "#4f8fd8"


def unit_list(channels: np.ndarray, limit: int = 200) -> str:
    """``3, 7, 12`` (at most ``limit`` numbers, then "… (N in all)"), or "none"."""
    if not len(channels):
        return "none"
    shown = ", ".join(str(int(c)) for c in channels[:limit])
    return shown if len(channels) <= limit else f"{shown}, … ({len(channels)} in all)"


def _plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=BACKGROUND, title=title)
    plain_axes(plot)
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.setMinimumSize(120, 120)
    return plot


class StatsView(QWidget):
    """Fire-rate histogram, dead and nearly dead units, class profile. ``result``: what is drawn (None:
    nothing); ``unit``: the unit whose class profile is drawn. Emits ``unit_chosen(channel)`` when the user picks
    a unit in the profile's spin box."""

    unit_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: ScanAnalysis | None = None
        self.histogram = _plot("Fire rates", "fire rate (share of images with a score > 0)", "units")
        self.histogram.setXRange(0.0, 1.0, padding=0.02)
        self.histogram_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=BAR_COLOUR)
        self.histogram.addItem(self.histogram_bars)
        self.profile = _plot("Class profile", "class", "mean score")
        self.profile_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BAR_COLOUR)
        self.profile.addItem(self.profile_bars)
        self._build_controls()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self.histogram, 1)
        left.addWidget(self.dead_label)
        left.addWidget(self.nearly_label)
        left.addLayout(option_row("Nearly dead: fire rate ≤", self.threshold_spin))
        left.addLayout(option_row(self.copy_button))
        right.addLayout(option_row("Unit", self.unit_spin, self.profile_label))
        right.addWidget(self.profile, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)
        self.clear()

    def _build_controls(self) -> None:
        self.dead_label = wrapped_label(selectable=True)
        self.nearly_label = wrapped_label(selectable=True)
        self.profile_label = wrapped_label()
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.005)
        self.threshold_spin.setValue(min(1.0, max(0.0, settings_store.load_float(THRESHOLD_KEY, DEFAULT_THRESHOLD))))
        self.threshold_spin.setToolTip("Units that fire on at most this share of the images count as nearly dead")
        self.copy_button = QPushButton("Copy dead units as CSV")
        self.copy_button.setToolTip("Copy the dead and nearly dead units' statistics (unit, fire rate, mean, "
                                    "max, selectivity) as CSV")
        self.unit_spin = QSpinBox()
        self.unit_spin.setToolTip("The unit whose mean score per class is drawn")
        self.threshold_spin.valueChanged.connect(self._threshold_changed)
        self.copy_button.clicked.connect(self.copy_csv)
        self.unit_spin.valueChanged.connect(self._unit_picked)

    @property
    def threshold(self) -> float:
        """The nearly-dead threshold on the fire rate, in [0, 1]."""
        return self.threshold_spin.value()

    @property
    def unit(self) -> int:
        """The unit whose class profile is drawn."""
        return self.unit_spin.value()

    def clear(self) -> None:
        """Show nothing."""
        self.result = None
        self.histogram_bars.setOpts(x=[], height=[])
        self.profile_bars.setOpts(x=[], height=[])
        self.profile.getAxis("bottom").setTicks(None)
        self.dead_label.setText("Scan a dataset to see which units never fire.")
        self.nearly_label.clear()
        self.copy_button.setEnabled(False)
        self.unit_spin.setEnabled(False)

    def show_result(self, result: ScanAnalysis) -> None:
        """Draw the statistics of ``result`` (its layer's units at its threshold); the unit picked stays."""
        last, self.result = self.result, result
        if (last is not None and last.index is result.index and last.layer == result.layer
                and last.settings.threshold == result.settings.threshold):
            return
        stats = result.stats
        counts, edges = np.histogram(stats.fire_rate, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
        width = edges[1] - edges[0]
        self.histogram_bars.setOpts(x=edges[:-1] + width / 2, height=counts, width=width)
        self.histogram.setYRange(0, max(1, int(counts.max())), padding=0.05)
        self.histogram.setTitle(f"{len(stats.fire_rate)} units, {stats.count} images")
        self.unit_spin.blockSignals(True)
        self.unit_spin.setRange(0, max(0, len(stats.fire_rate) - 1))
        self.unit_spin.blockSignals(False)
        self.unit_spin.setEnabled(True)
        self._show_dead(result)
        self._show_profile(result)

    def listed_units(self) -> np.ndarray:
        """The dead and nearly dead units of the result drawn (fire rate ≤ its threshold), ascending."""
        if self.result is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.result.dead | self.result.nearly_dead)

    def csv_text(self) -> str:
        """What "Copy dead units as CSV" copies ("" with nothing shown)."""
        if self.result is None:
            return ""
        return top_patches.units_csv(self.result.index, self.result.layer, [int(c) for c in self.listed_units()])

    def copy_csv(self) -> None:
        """Put :meth:`csv_text` on the clipboard."""
        QGuiApplication.clipboard().setText(self.csv_text())

    def select_unit(self, channel: int) -> None:
        """Draw the class profile of ``channel``."""
        self.unit_spin.blockSignals(True)
        self.unit_spin.setValue(channel)
        self.unit_spin.blockSignals(False)
        if self.result is not None:
            self._show_profile(self.result)

    def _show_dead(self, result: ScanAnalysis) -> None:
        dead, nearly = np.flatnonzero(result.dead), np.flatnonzero(result.nearly_dead)
        self.dead_label.setText(f"<b>Dead</b> (never fired): {len(dead)} — {unit_list(dead)}")
        self.nearly_label.setText(f"<b>Nearly dead</b> (fire rate 0–{result.settings.threshold:g}): {len(nearly)} — "
                                  f"{unit_list(nearly)}")
        self.copy_button.setEnabled(bool(len(dead) + len(nearly)))

    def _show_profile(self, result: ScanAnalysis) -> None:
        unit, stats = self.unit, result.stats
        axis = self.profile.getAxis("bottom")
        if stats.class_mean is None or not 0 <= unit < stats.class_mean.shape[0]:
            self.profile_bars.setOpts(x=[], height=[])
            axis.setTicks(None)
            self.profile_label.setText("The class profile needs a dataset with labels.")
            return
        means = np.nan_to_num(stats.class_mean[unit], nan=0.0)
        self.profile_bars.setOpts(x=np.arange(len(means)), height=means, width=0.8)
        axis.setTicks([[(i, name) for i, name in enumerate(result.index.classes)]])
        self.profile.setXRange(-0.5, len(means) - 0.5, padding=0.02)
        self.profile.setYRange(min(0.0, float(means.min())), max(1e-6, float(means.max())), padding=0.05)
        selectivity = "" if stats.selectivity is None else f"; selectivity {stats.selectivity[unit]:.3f}"
        self.profile_label.setText(f"mean score per class{selectivity}")

    def _threshold_changed(self, value: float) -> None:
        settings_store.save_float(THRESHOLD_KEY, value)

    def _unit_picked(self, channel: int) -> None:
        if self.result is not None:
            self._show_profile(self.result)
        self.unit_chosen.emit(channel)
