"""The confusion matrix of a training run's checkpoint as an analysis: the checkpoint scores labelled images (by
default the run's own test split, as recorded when it trained) and the matrix counts, for each true class (row),
the images given each top-1 class (column); with each image's top classes and their probabilities, so that a
cell's images can be shown. The numbers are :func:`cnnviz.core.training.evaluate`'s."""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model import models
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text
from cnnviz.core.training.metrics import Metrics, Predictions, predict_steps
from cnnviz.core.training.runs import open_one, recorded_split

NAME = "confusion"
SPLIT_CHOICES = ("test", "val", "train")
SHOW = ("counts", "row-normalised")


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Which checkpoint scores which images, and how the matrix is shown."""

    epoch: int | None = setting(None, label="Epoch", low=1, high=10_000, none="the best",
                                help="The checkpoint that scores the images (the best: lowest validation loss).")
    split: str = setting("test", label="Split", choices=SPLIT_CHOICES,
                         help="The run's own split to score, as recorded when it trained (unless images are given).")
    show: str = setting("counts", label="Show", choices=SHOW, caption=False,
                        help="Colour the cells by their counts, or by their share of the true class's images.")
    batch_size: int = setting(64, label="Batch", unit="images", low=1, high=4096, caption=False,
                              help="Images per forward pass.")


@dataclass(frozen=True, kw_only=True)
class ConfusionResult(Result):
    """The checkpoint's ``metrics`` (loss, top-1, top-3, ``confusion`` [K, K] counts: rows true class, columns
    top-1 class) on ``images``, each image's ``predictions``, the ``classes``, the ``epoch`` scored and the
    run ``folder``'s name."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    metrics: Metrics
    predictions: Predictions
    classes: tuple[str, ...]
    epoch: int
    run: str
    images: ImageDataset

    def counts(self) -> np.ndarray:
        """The confusion matrix [K, K] (int64)."""
        return self.metrics.confusion

    def normalised(self) -> np.ndarray:
        """Each row divided by its true class's image count [K, K] (0…1; NaN for a class without images)."""
        totals = self.counts().sum(axis=1, keepdims=True).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, self.counts() / totals, np.nan)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """The positions in ``predictions`` of the images of class ``true`` whose top-1 class is ``predicted``,
        most confident first."""
        chosen = np.flatnonzero((self.predictions.labels == true) & (self.predictions.predicted() == predicted))
        return chosen[np.argsort(-self.predictions.probabilities[chosen, 0], kind="stable")]

    def arrays(self) -> dict[str, np.ndarray]:
        """``confusion``: the counts [K, K]."""
        return {"confusion": self.counts()}

    def tables(self) -> dict[str, str]:
        """``confusion`` with class names as the header and first column; ``predictions``: one row per image."""
        header = ["true \\ predicted", *self.classes]
        matrix = csv_text(header, [[name, *row] for name, row in zip(self.classes, self.counts().tolist())])
        p = self.predictions
        rows = [[int(i), self.images.files[int(i)], self.classes[int(t)], *(self.classes[int(c)] for c in top),
                 *(round(float(v), 6) for v in probs)]
                for i, t, top, probs in zip(p.indices, p.labels, p.top, p.probabilities)]
        k = p.top.shape[1]
        names = [f"top-{j + 1}" for j in range(k)] + [f"p(top-{j + 1})" for j in range(k)]
        return {"confusion": matrix, "predictions": csv_text(["index", "file", "true", *names], rows)}

    def resolved(self) -> dict[str, Any]:
        """The run, the epoch scored, the images and the scores."""
        return {"run": self.run, "epoch": self.epoch, "images": self.images.name, "count": self.metrics.count,
                "log_loss": round(self.metrics.loss, 4), "top1": round(self.metrics.top1, 4),
                "top3": round(self.metrics.top3, 4)}


def run(model: LoadedModel | None, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, ConfusionResult]:
    """Load the run's checkpoint (on ``model``'s device when one is given) and score the images batch by batch."""
    settings = settings or Settings()
    record = open_one(source.run_folders(), "a confusion matrix")
    checkpoint = record.checkpoint(settings.epoch)
    scorer = models.load_checkpoint(checkpoint, device=str(model.device) if model is not None else "cpu")
    images = source.dataset if source.dataset is not None else recorded_split(record.folder, settings.split)
    steps = predict_steps(scorer, images, batch_size=settings.batch_size)
    try:
        while True:
            step = next(steps)
            yield Step(step.done, step.total, message=f"scoring {images.name}")
    except StopIteration as stop:
        metrics, predictions = stop.value
    finally:
        steps.close()
    return ConfusionResult(settings=settings, head=about(NAME, scorer, source), metrics=metrics,
                           predictions=predictions, classes=tuple(scorer.categories),
                           epoch=settings.epoch or record.best_epoch,
                           run=record.folder.name, images=images)


def check(model: LoadedModel | None, settings: Settings) -> None:
    """Nothing depends on the current model (the run's checkpoint scores)."""


def draw(fig: Figure, ax: Any, result: ConfusionResult) -> None:
    """The matrix in ``ax``, each cell with its count (and share), a colour bar beside it."""
    counts, shares = result.counts(), result.normalised()
    normalised = result.settings.show == "row-normalised"
    values = shares if normalised else counts
    image = figures.show_map(fig, ax, values, cmap="viridis", vmin=0, vmax=1 if normalised else None,
                             label="share of the true class" if normalised else "images")
    low, high = (float(v) for v in image.get_clim())
    span = (high - low) or 1.0
    k = len(result.classes)
    size = figures.MIN_FONT_PT if k <= 12 else max(3.0, figures.MIN_FONT_PT * 12 / k)
    if k <= 30:
        for true in range(k):
            for predicted in range(k):
                value = float(values[true, predicted])
                level = (value - low) / span if np.isfinite(value) else 0.0
                text = f"{counts[true, predicted]}" + (f"\n{shares[true, predicted]:.0%}"
                                                        if normalised and k <= 12 else "")
                ax.text(predicted, true, text, ha="center", va="center", fontsize=size,
                        color="black" if level > 0.6 else "white")
    ax.set_xticks(range(k), [_short(n) for n in result.classes], rotation=90, fontsize=size)
    ax.set_yticks(range(k), [_short(n) for n in result.classes], fontsize=size)
    ax.set_xlabel("predicted (top-1)")
    ax.set_ylabel("true class")
    m = result.metrics
    ax.set_title(f"{result.images.name}: {m.count} images · top-1 {m.top1:.3f} · top-3 {m.top3:.3f} · "
                 f"log-loss {m.loss:.3f}", fontsize=figures.FONT_PT)


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def figure(result: ConfusionResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: the confusion matrix at equal aspect with its colour bar, the scores above, the caption."""
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.85)
        ax = fig.subplots()
        draw(fig, ax, result)
        fit_height(fig, ax)
        return figures.finish(fig, result.caption() if caption else None, trim=False)


def fit_height(fig: Figure, ax: Any, passes: int = 3) -> None:
    """Make ``fig`` as tall as its square matrix ``ax`` (as wide as the layout lets it be) and the labels above
    and below it need (the general trim swings between a box held by the height and one held by the width)."""
    for _ in range(passes):
        fig.draw_without_rendering()
        height = fig.get_figheight()
        box = ax.get_position()
        content = figures.content_box(fig, draw=False)
        above, below = content.y1 - box.y1 * height, box.y0 * height - content.y0
        wanted = box.width * fig.get_figwidth() + above + below + 2 * figures.PAD_IN
        if abs(wanted - height) < 0.01:
            return
        fig.set_figheight(wanted)


ANALYSIS = Analysis(NAME, "confusion matrix of a training run's checkpoint on its test split or given images",
                    Settings, run, figure, input="runs", check=check)
