"""Layer-wise linear probes as an analysis (Zeiler & Fergus 2014, Table 7 and Section 5): for each chosen layer of
the model, a standardised logistic regression on its frozen features, pooled per channel, fitted on the training
images (the source's dataset) and scored on the test images (the source's ``test``); the figure draws top-1 and
top-3 by layer, and beside them another model's (a base model against its fine-tuned checkpoint). The numbers
are :func:`cnnviz.core.training.probe_layers`'."""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text
from cnnviz.core.training.layer_probes import ProbeScore, default_layers, probe_layers_steps

NAME = "probe"
POOLINGS = ("avg", "max", "gem", "flatten")
MODEL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


@dataclass(frozen=True)
class Settings(SettingsBase):
    """The layers probed and how their features are pooled."""

    layers: tuple[str, ...] = setting((), label="Layers", help=(
        "The layers to probe, in order (empty: up to 8 conv and linear layers spread over the depth)."))
    pooling: str = setting("avg", label="Pooling", choices=POOLINGS,
                           help="How each channel's map becomes one feature: mean, max, GeM, or every value kept.")
    seed: int = setting(0, label="Seed", low=0, high=2**31 - 1, help="Seed of the logistic regression.")
    batch_size: int = setting(64, label="Batch", unit="images", low=1, high=4096, caption=False,
                              help="Images per forward pass.")


@dataclass(frozen=True, kw_only=True)
class ProbeResult(Result):
    """The ``scores`` of each probed layer (in order) and the ``model`` name; ``test``: the test images' name;
    ``others``: other models' probes on the same images, drawn beside (a base model and its fine-tuned
    checkpoint)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    scores: dict[str, ProbeScore]
    model: str
    test: str
    others: tuple["ProbeResult", ...] = ()

    def layers(self) -> list[str]:
        """The layers probed, in order."""
        return list(self.scores)

    def arrays(self) -> dict[str, np.ndarray]:
        """``scores`` [layers, 3]: test top-1, test top-3 and train top-1 (0…1) of each layer, in order."""
        return {"scores": np.array([[s.top1, s.top3, s.train_top1] for s in self.scores.values()]).reshape(-1, 3)}

    def tables(self) -> dict[str, str]:
        """``scores``: a header and one row per layer (layer, features, test top-1, test top-3, train top-1)."""
        rows = [[layer, s.dims, s.top1, s.top3, s.train_top1] for layer, s in self.scores.items()]
        tables = {"scores": csv_text(["layer", "features", "top1", "top3", "train_top1"], rows)}
        if self.others:
            rows = [[probe.model, layer, s.dims, s.top1, s.top3, s.train_top1] for probe in (self, *self.others)
                    for layer, s in probe.scores.items()]
            tables["compared"] = csv_text(["model", "layer", "features", "top1", "top3", "train_top1"], rows)
        return tables

    def resolved(self) -> dict[str, Any]:
        """The layers probed and the test images."""
        return {"layers": self.layers(), "test": self.test}


def defaults(model: LoadedModel) -> Settings:
    """The layers a probe of ``model`` takes by default."""
    return Settings(layers=tuple(default_layers(model)))


def check(model: LoadedModel, settings: Settings) -> None:
    """Every layer named is one of the model's (a ValueError naming the field otherwise)."""
    for layer in settings.layers:
        layer_rules.checked_layer(model, layer, NAME)


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, ProbeResult]:
    """Features of the training and test images, then one probe per layer (each a step)."""
    settings = settings or Settings()
    train = source.data()
    if source.test is None:
        raise ValueError(f"{source.name}: a probe needs test images as well as training images (--test)")
    check(model, settings)
    scores = yield from probe_layers_steps(model, train, source.test, layers=settings.layers or None,
                                           pooling=settings.pooling, batch_size=settings.batch_size, seed=settings.seed)
    return ProbeResult(settings=settings, head=about(NAME, model, source), scores=scores, model=model.name,
                       test=source.test.name)


def draw(ax: Any, results: Sequence[ProbeResult]) -> None:
    """Bars of test top-1 (solid) and top-3 (light) per layer, one group per layer and a bar per result."""
    layers = list(dict.fromkeys(layer for result in results for layer in result.layers()))
    width = 0.8 / max(len(results), 1)
    for index, result in enumerate(results):
        colour = MODEL_COLOURS[index % len(MODEL_COLOURS)]
        at = np.arange(len(layers)) - 0.4 + width * (index + 0.5)
        top1 = [result.scores[layer].top1 if layer in result.scores else np.nan for layer in layers]
        top3 = [result.scores[layer].top3 if layer in result.scores else np.nan for layer in layers]
        ax.bar(at, top3, width * 0.9, color=colour, alpha=0.3, label=f"{result.model}: top-3")
        bars = ax.bar(at, top1, width * 0.9, color=colour, label=f"{result.model}: top-1")
        ax.bar_label(bars, fmt="%.2f", fontsize=figures.MIN_FONT_PT, color="white", label_type="edge", padding=-9)
    ax.set_xticks(range(len(layers)), layers, rotation=30, ha="right")
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("test accuracy of a linear probe")
    ax.set_xlabel("layer (features pooled per channel, frozen)")
    ax.grid(True, axis="y", linewidth=0.3, color="0.85")
    ax.set_axisbelow(True)


def figure(result: ProbeResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True, others: Sequence[ProbeResult] = ()) -> Figure:
    """The report figure: probe accuracy by layer for ``result`` and, side by side, its ``others`` and ``others``
    (other models on the same layers); a legend below and the caption."""
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.45)
        shown = [result, *result.others, *others]
        legend = figures.legend_height(2 * len(shown), 2)
        plot = fig.get_figwidth() * 0.4
        grid = fig.add_gridspec(2, 1, height_ratios=[plot, legend])
        ax, legend_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
        fig.set_figheight(plot + legend + 0.8)
        draw(ax, shown)
        handles, labels = ax.get_legend_handles_labels()
        figures.legend_row(legend_ax, handles, labels, ncols=2)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "layer-wise linear probes: how well each layer's frozen features separate the classes",
                    Settings, run, figure, input="dataset", defaults=defaults, check=check)
