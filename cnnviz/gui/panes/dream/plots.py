"""The per-step plots of the Deep dream pane: the objective and the target class probability.

Each run adds one curve to each plot (labelled with its layer and step size, colours cycling), so
runs with different step sizes can be compared; :meth:`DreamPlots.clear` removes them all.
"""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.core.dream import DreamStep
from cnnviz.gui.widgets.axes import plain_axes

LEGEND_ROWS = 3
"""Runs listed per legend column before another column starts (keeps the legend short)."""
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


class RunCurves:
    """The points of one run (step index, objective, probability) and its two curves."""

    def __init__(self, objective: pg.PlotDataItem, probability: pg.PlotDataItem) -> None:
        self.objective_item, self.probability_item = objective, probability
        self.steps: list[int] = []
        self.objectives: list[float] = []
        self.prob_steps: list[int] = []
        self.probabilities: list[float] = []

    def add(self, records: list[DreamStep]) -> None:
        """Append the finite values of ``records``."""
        for record in records:
            if np.isfinite(record.objective):
                self.steps.append(record.index)
                self.objectives.append(record.objective)
            if record.target_prob is not None and np.isfinite(record.target_prob):
                self.prob_steps.append(record.index)
                self.probabilities.append(record.target_prob)

    def draw(self) -> None:
        """Give the curves their points."""
        self.objective_item.setData(np.asarray(self.steps, dtype=float), np.asarray(self.objectives))
        self.probability_item.setData(np.asarray(self.prob_steps, dtype=float), np.asarray(self.probabilities))


def _plot(title: str, left: str, legend: bool) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plain_axes(plot)
    plot.setTitle(title, color="#222", size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", "step")
    plot.showGrid(x=True, y=True, alpha=0.25)
    if legend:
        plot.addLegend(offset=(4, 4), labelTextColor="#222", labelTextSize="8pt",
                       brush=pg.mkBrush(255, 255, 255, 200), verSpacing=-8)
    plot.setMinimumHeight(120)
    return plot


class DreamPlots(QWidget):
    """Objective and target-probability plots side by side, one curve per run (the legend, on the
    objective plot, names the colours of both)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.objective_plot = _plot("Objective per step", "objective", legend=True)
        self.probability_plot = _plot("Target probability", "probability", legend=False)
        self.probability_plot.setYRange(0, 1, padding=0.02)
        self.runs: list[RunCurves] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.objective_plot, 1)
        layout.addWidget(self.probability_plot, 1)

    def describe(self, objective: str, target: str, prob_every: int) -> None:
        """Title the plots for ``objective`` (its key) and the ``target`` class name, noting that the
        probability is computed every ``prob_every`` steps (0: never)."""
        self.objective_plot.setLabel("left", "‖a‖" if objective == "l2" else f"{objective} objective")
        every = ("not computed (every: never)" if prob_every <= 0
                 else "computed every step" if prob_every == 1 else f"computed every {prob_every} steps")
        self.probability_plot.setTitle(f"Probability of {target}<br><small>{every}</small>", color="#222",
                                       size="10pt")

    def start_run(self, label: str) -> RunCurves:
        """Add a curve labelled ``label`` to each plot, in the next colour, and return them."""
        pen = pg.mkPen(COLOURS[len(self.runs) % len(COLOURS)], width=2)
        run = RunCurves(self.objective_plot.plot([], [], pen=pen, name=label),
                        self.probability_plot.plot([], [], pen=pen, name=label,
                                                   symbol="o", symbolSize=4, symbolPen=pen,
                                                   symbolBrush=pen.color()))
        self.runs.append(run)
        legend = self.objective_plot.getPlotItem().legend
        legend.setColumnCount(1 + (len(self.runs) - 1) // LEGEND_ROWS)
        return run

    def clear(self) -> None:
        """Remove every run's curves."""
        for run in self.runs:
            for plot, item in ((self.objective_plot, run.objective_item),
                               (self.probability_plot, run.probability_item)):
                plot.removeItem(item)
        self.runs = []

    def curve_counts(self) -> tuple[int, int]:
        """How many curves the objective and probability plots show."""
        return (len(self.objective_plot.getPlotItem().listDataItems()),
                len(self.probability_plot.getPlotItem().listDataItems()))

    def data(self) -> dict[str, np.ndarray]:
        """Each run's curves as arrays [N, 2] of (step, value), for export."""
        arrays: dict[str, np.ndarray] = {}
        for number, run in enumerate(self.runs, 1):
            arrays[f"run{number}-objective"] = np.column_stack([run.steps, run.objectives]) if run.steps \
                else np.zeros((0, 2))
            arrays[f"run{number}-probability"] = np.column_stack([run.prob_steps, run.probabilities]) \
                if run.prob_steps else np.zeros((0, 2))
        return arrays
