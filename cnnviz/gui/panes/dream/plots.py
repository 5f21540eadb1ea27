"""The per-step plots of the Deep dream pane: the objective and the target class probability.

Each run adds one curve to each plot (colours cycling), so runs with different settings can be
compared; :meth:`DreamPlots.clear` removes them all. A setting changed while a run goes is marked
on its curves by a dashed vertical line named with the new setting, and a curve is broken there
when the values before and after are not of one quantity (another layer or objective; another class
for the probability). The legend names each run by the settings its steps used
(:func:`~cnnviz.gui.panes.dream.settings_used.run_label`), and the titles name what the curves
shown plot: when runs plot different classes, the legend names each run's.
"""

import bisect
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.analyses.dream import DreamAnalysis, Settings
from cnnviz.gui.panes.dream.settings_used import StepSetting, change_label, run_label, setting_label, step_setting
from cnnviz.gui.widgets.axes import plain_axes

LEGEND_ROWS = 3
"""Runs listed per legend column before another column starts (keeps the legend short)."""
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MARKER_ROWS = 4
"""Heights at which the labels of successive change marks are staggered (so they do not overlap)."""
OBJECTIVE_AXES = {"l2": "‖a‖", "channel": "channel mean", "class": "logit", "guided": "guide dot product"}


def _connections(count: int, breaks: Sequence[int]) -> np.ndarray:
    """Which of ``count`` points join the next one: all but those just before a ``breaks`` position."""
    connect = np.ones(count, dtype=bool)
    for start in breaks:
        if 0 < start <= count:
            connect[start - 1] = False
    return connect


class RunCurves:
    """One run: its points (step index, objective, probability), its two curves, the settings its
    steps used in turn (``settings``) and the marks where they changed (``changes``: (step index,
    label)). ``class_names`` name the classes of the run's model, ``source`` the image it dreams;
    ``note`` prefixes its legend entry."""

    def __init__(self, plots: "DreamPlots", colour: str, start: StepSetting, class_names: Sequence[str],
                 source: str = "") -> None:
        self.plots, self.colour, self.start, self.class_names = plots, colour, start, tuple(class_names)
        self.source = source
        pen = pg.mkPen(colour, width=2)
        label = setting_label(start)
        self.objective_item = plots.objective_plot.plot([], [], pen=pen, name=label)
        self.probability_item = plots.probability_plot.plot([], [], pen=pen, name=label, symbol="o", symbolSize=4,
                                                            symbolPen=pen, symbolBrush=pen.color())
        self.steps: list[int] = []
        self.objectives: list[float] = []
        self.prob_steps: list[int] = []
        self.probabilities: list[float] = []
        self.settings: list[StepSetting] = []
        self.changes: list[tuple[int, str]] = []
        self.markers: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        self.note = ""
        self._objective_breaks: list[int] = []
        self._prob_breaks: list[int] = []
        self._seen = 0
        self._last: Settings | None = None

    def follow(self, result: DreamAnalysis) -> bool:
        """Append the finite values of the steps of ``result`` (a later partial result of this run) not added
        yet, marking where the settings they read change; True if a new setting was used."""
        used = len(self.settings)
        starts = [index for index, _settings in result.used]
        for record in result.records[self._seen:]:
            settings = result.used[bisect.bisect_right(starts, record.index) - 1][1]
            if settings is not self._last:
                self._last = settings
                self._use(step_setting(settings, self.class_names), record.index)
            if np.isfinite(record.objective):
                self.steps.append(record.index)
                self.objectives.append(record.objective)
            if record.target_prob is not None and np.isfinite(record.target_prob):
                self.prob_steps.append(record.index)
                self.probabilities.append(record.target_prob)
        self._seen = max(self._seen, len(result.records))
        return len(self.settings) != used

    def _use(self, setting: StepSetting, index: int) -> None:
        """Note that the steps from ``index`` use ``setting``."""
        if not self.settings:
            self.settings.append(setting)
            return
        previous = self.settings[-1]
        if setting == previous:
            return
        self.settings.append(setting)
        label = change_label(previous, setting)
        self.changes.append((index, label))
        if not setting.same_objective(previous):
            self._objective_breaks.append(len(self.steps))
        if setting.target != previous.target:
            self._prob_breaks.append(len(self.prob_steps))
        self._mark(index, label)

    def _mark(self, index: int, label: str) -> None:
        """A dashed line before step ``index`` on both plots, named ``label`` on the objective plot."""
        pen = pg.mkPen(self.colour, width=1, style=Qt.PenStyle.DashLine)
        height = 0.95 - 0.2 * ((len(self.changes) - 1) % MARKER_ROWS)
        for plot, text in ((self.plots.objective_plot, label), (self.plots.probability_plot, None)):
            line = pg.InfiniteLine(pos=index - 0.5, angle=90, pen=pen, movable=False, label=text,
                                   labelOpts={"position": height, "color": self.colour})
            line.setToolTip(f"From step {index}: {label}")
            plot.addItem(line)
            self.markers.append((plot, line))

    def label(self, with_target: bool = False) -> str:
        """The legend entry: the settings the steps used (the start settings before the first step),
        with the target class if ``with_target``, after the ``note``."""
        text = run_label(self.settings, with_target) if self.settings else setting_label(self.start, with_target)
        return f"{self.note}: {text}" if self.note else text

    def used(self) -> list[StepSetting]:
        """The settings the steps used, in turn (the start settings before the first step)."""
        return self.settings or [self.start]

    def draw(self) -> None:
        """Give the curves their points, broken where the plotted quantity changed."""
        self.objective_item.setData(np.asarray(self.steps, dtype=float), np.asarray(self.objectives),
                                    connect=_connections(len(self.steps), self._objective_breaks))
        self.probability_item.setData(np.asarray(self.prob_steps, dtype=float), np.asarray(self.probabilities),
                                      connect=_connections(len(self.prob_steps), self._prob_breaks))

    def remove(self) -> None:
        """Take the curves and the change marks off the plots."""
        items = [(self.plots.objective_plot, self.objective_item), (self.plots.probability_plot, self.probability_item)]
        for plot, item in items + self.markers:
            plot.removeItem(item)
        self.markers = []


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
        self._next = StepSetting("", "", "", "target class")
        self._prob_every = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.objective_plot, 1)
        layout.addWidget(self.probability_plot, 1)

    def describe(self, upcoming: StepSetting, prob_every: int) -> None:
        """Note the settings of the next run (or of the running one's next step; they title the plots
        while no run is shown) and that its probability is computed every ``prob_every`` steps (0: never)."""
        self._next, self._prob_every = upcoming, prob_every
        self.update_labels()

    def start_run(self, start: StepSetting, class_names: Sequence[str], source: str = "") -> RunCurves:
        """Add a curve for a run starting with ``start`` to each plot, in the next colour; ``class_names``
        name the classes of its model, ``source`` the image it dreams."""
        run = RunCurves(self, COLOURS[len(self.runs) % len(COLOURS)], start, class_names, source)
        self.runs.append(run)
        legend = self.objective_plot.getPlotItem().legend
        legend.setColumnCount(1 + (len(self.runs) - 1) // LEGEND_ROWS)
        self.update_labels()
        return run

    def note_earlier(self) -> None:
        """Name the image each run shown dreamed ("on dog.jpg") in its legend entry: the current
        image is another one now."""
        for run in self.runs:
            run.note = run.note or f"on {run.source or 'an earlier image'}"
        self.update_labels()

    def update_labels(self) -> None:
        """Name the runs in the legend and title the plots for the settings the curves shown used: the
        target class in the probability title when all plot one (else in each legend entry), the
        objective's kind on the objective axis when all share one."""
        used = [setting for run in self.runs for setting in run.used()] or [self._next]
        targets = sorted({setting.target for setting in used})
        kinds = sorted({setting.kind for setting in used})
        self.objective_plot.setLabel("left", OBJECTIVE_AXES.get(kinds[0], "objective") if len(kinds) == 1
                                     else "objective")
        every = ("not computed (every: never)" if self._prob_every <= 0 else "computed every step"
                 if self._prob_every == 1 else f"computed every {self._prob_every} steps")
        target = f"Probability of {targets[0]}" if len(targets) == 1 else "Probability of each run's class"
        self.probability_plot.setTitle(f"{target}<br><small>{every}</small>", color="#222", size="10pt")
        legend = self.objective_plot.getPlotItem().legend
        for run in self.runs:
            text = run.label(with_target=len(targets) > 1)
            entry = legend.getLabel(run.objective_item)
            if entry is not None and entry.text != text:
                entry.setText(text)
            run.objective_item.opts["name"] = run.probability_item.opts["name"] = text

    def clear(self) -> None:
        """Remove every run's curves."""
        for run in self.runs:
            run.remove()
        self.runs = []
        self.update_labels()

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
