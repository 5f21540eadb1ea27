"""Learning curves of training runs as an analysis: per epoch, the loss and the top-1 / top-3 accuracy on
the training images (averaged over the epoch's batches) and on the validation images (after the epoch), for
one or several runs overlaid, each named by what differs from the others (:func:`~cnnviz.core.training.runs.
run_labels`). Read from the runs' folders; nothing is computed."""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text
from cnnviz.core.training.runs import METRICS, SPLITS, RunRecord, open_run, run_labels

NAME = "curves"
ACCURACY = ("top-1 and top-3", "top-1", "top-3")
RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22")
"""One colour per run, in the run list's order (colour-blind-safe first pairs)."""
COLOUR_NAMES = ("blue", "red", "green", "purple", "orange", "cyan", "brown", "pink", "grey", "olive")
"""The names of :data:`RUN_COLOURS`, for text that refers to them."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """What the curves show; runs are the source's."""

    accuracy: str = setting("top-1 and top-3", label="Accuracy", choices=ACCURACY, caption=False,
                            help="Which accuracies the right-hand plot shows (top-3 thin).")
    log_loss_axis: bool = setting(False, label="Log loss axis", caption=False, help="A logarithmic axis for the loss.")


@dataclass(frozen=True, kw_only=True)
class CurvesResult(Result):
    """The ``runs`` read (:class:`~cnnviz.core.training.runs.RunRecord`) and their ``labels``."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    runs: tuple[RunRecord, ...]
    labels: tuple[str, ...]

    def arrays(self) -> dict[str, np.ndarray]:
        """``curves``: [runs, epochs, 2 (train, val), 3 (loss, top-1, top-3)], NaN past a run's last epoch."""
        tables = [run.table() for run in self.runs]
        epochs = max((len(t) for t in tables), default=0)
        curves = np.full((len(tables), epochs, len(SPLITS), len(METRICS)), np.nan)
        for index, table in enumerate(tables):
            curves[index, :len(table)] = table
        return {"curves": curves}

    def tables(self) -> dict[str, str]:
        """``history``: one row per run, epoch and split; ``runs``: one row per run (the run list)."""
        rows = [[label, run.folder.name, row.epoch, row.split, row.loss, row.top1, row.top3, row.lr, row.seconds]
                for label, run in zip(self.labels, self.runs) for row in run.history]
        history = csv_text(["run", "folder", "epoch", "split", "loss", "top1", "top3", "lr", "seconds"], rows)
        return {"history": history, "runs": csv_text(RUN_HEADER, [run_row(label, run) for label, run
                                                                   in zip(self.labels, self.runs)])}

    def resolved(self) -> dict[str, Any]:
        """The runs' folders and labels."""
        return {"runs": [run.folder.name for run in self.runs], "labels": list(self.labels)}


RUN_HEADER = ["run", "best val top-1", "test top-1", "test top-3", "test log-loss", "epochs", "best epoch", "model",
              "mode", "seconds", "folder"]


def run_row(label: str, run: RunRecord) -> list[Any]:
    """The run list's row of ``run`` (:data:`RUN_HEADER`); NaN for scores that were not written."""
    test = run.result("test") or {}
    nan = float("nan")
    return [label, run.best_val_top1(), test.get("top-1", nan), test.get("top-3", nan), test.get("log-loss", nan),
            len(run.epochs), run.best_epoch, run.base.get("name", ""), run.config.get("mode", ""), run.seconds(),
            run.folder.name]


def read_runs(source: Source) -> tuple[tuple[RunRecord, ...], tuple[str, ...]]:
    """The source's runs, read, and their labels; ValueError naming a folder that is not a run."""
    records = tuple(open_run(folder) for folder in source.run_folders())
    return records, tuple(run_labels(list(records)))


def run(model: LoadedModel | None, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, CurvesResult]:
    """Read the runs (one step per run); ``model`` is not used."""
    settings = settings or Settings()
    folders = source.run_folders()
    for done, _folder in enumerate(folders, 1):
        yield Step(done, len(folders), message="reading runs")
    records, labels = read_runs(source)
    return CurvesResult(settings=settings, head=about(NAME, None, source), runs=records, labels=labels)


def check(model: LoadedModel | None, settings: Settings) -> None:
    """Nothing depends on the model."""


def draw(loss_ax: Any, accuracy_ax: Any, result: CurvesResult) -> None:
    """The loss (left) and accuracy (right) curves of every run: validation solid, training dashed."""
    show_top1 = result.settings.accuracy in ("top-1 and top-3", "top-1")
    show_top3 = result.settings.accuracy in ("top-1 and top-3", "top-3")
    for index, (record, label) in enumerate(zip(result.runs, result.labels)):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        table = record.table()
        epochs = np.arange(1, len(table) + 1)
        for split, style in (("train", "--"), ("val", "-")):
            at = SPLITS.index(split)
            name = f"{label}, {'validation' if split == 'val' else 'training'}"
            loss_ax.plot(epochs, table[:, at, 0], style, color=colour, marker="o", markersize=2.5, label=name)
            if show_top1:
                accuracy_ax.plot(epochs, table[:, at, 1], style, color=colour, marker="o", markersize=2.5)
            if show_top3:
                accuracy_ax.plot(epochs, table[:, at, 2], style, color=colour, linewidth=0.8, alpha=0.7,
                                 dashes=(1, 1.5) if split == "val" else (4, 1.5, 1, 1.5))
    if result.settings.log_loss_axis:
        loss_ax.set_yscale("log")
    loss_ax.set_ylabel("cross-entropy (nats per image)")
    accuracy_ax.set_ylabel("accuracy")
    accuracy_ax.set_ylim(0, 1.02)
    for ax, title in ((loss_ax, "(a) Loss"), (accuracy_ax, f"(b) Accuracy ({result.settings.accuracy})")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(True, linewidth=0.3, color="0.85")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_box_aspect(0.75)


def figure(result: CurvesResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) loss and (b) accuracy by epoch, a legend of runs and splits below, the caption."""
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.5)
        narrow = fig.get_figwidth() < figures.NARROW_IN
        ncols = 1 if narrow else 2
        plot = fig.get_figwidth() * (0.75 if narrow else 0.4)
        legend = figures.legend_height(2 * len(result.runs), ncols, title=True)
        if narrow:
            grid = fig.add_gridspec(3, 1, height_ratios=[plot, plot, legend])
            loss_ax, accuracy_ax, legend_ax = (fig.add_subplot(grid[i, 0]) for i in range(3))
        else:
            grid = fig.add_gridspec(2, 2, height_ratios=[plot, legend])
            loss_ax, accuracy_ax, legend_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), \
                fig.add_subplot(grid[1, :])
        fig.set_figheight(plot * (2 if narrow else 1) + legend + 0.6)
        draw(loss_ax, accuracy_ax, result)
        handles, labels = loss_ax.get_legend_handles_labels()
        figures.legend_row(legend_ax, handles, labels, ncols=ncols,
                           title="solid: validation · dashed: training · thin: top-3")
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "learning curves of training runs: loss, top-1 and top-3 by epoch", Settings, run, figure,
                    input="runs", check=check)
