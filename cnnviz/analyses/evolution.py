"""Feature evolution during training as an analysis (Zeiler & Fergus 2014, Fig. 4): a grid of epochs × units of a
layer, each cell the unit's strongest patch of a dataset sample at that epoch's checkpoint with its deconvnet
projection, and the first convolution's filters at each epoch. The maths is
:func:`cnnviz.core.training.evolution.evolution_steps` (a small scan per checkpoint, cached in the run folder)."""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.training import evolution
from cnnviz.core.training.evolution import Evolution
from cnnviz.core.training.runs import open_one, recorded_split

NAME = "evolution"
SPLIT_CHOICES = ("train", "val", "test")


@dataclass(frozen=True)
class Settings(SettingsBase):
    """The layer, units, epochs and sample of the grid."""

    layer: str = setting("", label="Layer", help="The layer whose units are shown; empty: the last rectified "
                         "convolution before the head.")
    units: tuple[int, ...] = setting((), label="Units", low=0, help=(
        "The units shown, in order (empty: the 6 strongest of the last epoch)."))
    count: int = setting(evolution.DEFAULT_UNITS, label="Strongest units", low=1, high=64, unit="units",
                         help="How many of the last epoch's strongest units are shown when none are named.")
    epochs: tuple[int, ...] = setting((), label="Epochs", low=1, help="The epochs shown (empty: every whole epoch).")
    split: str = setting("train", label="Split", choices=SPLIT_CHOICES,
                         help="The run's own split the images are drawn from (unless images are given).")
    images: int = setting(500, label="Images", low=1, high=1_000_000, unit="images",
                          help="How many images each checkpoint scans (drawn with the seed); more: slower, stronger "
                               "patches.")
    seed: int = setting(0, label="Seed", low=0, high=2**31 - 1, help="Seed of the image sample.")
    filters: bool = setting(True, label="First filters", caption=False,
                            help="Show the first convolution's filters at each epoch in the figure.")
    batch_size: int = setting(64, label="Batch", unit="images", low=1, high=4096, caption=False,
                              help="Images per forward pass.")


@dataclass(frozen=True, kw_only=True)
class EvolutionResult(Result):
    """The :class:`~cnnviz.core.training.evolution.Evolution` of the run ``run`` (its folder's name)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    evolution: Evolution
    run: str

    def arrays(self) -> dict[str, np.ndarray]:
        """``activations`` and ``images`` [epochs, units] (each cell's top activation and sample index); ``patches``
        and ``projections`` [epochs, units, h, w, C] (0…1, padded with NaN to the largest patch); ``filters``
        [epochs, out, in, kH, kW] where the model has a convolution."""
        grid = self.evolution
        arrays = {"activations": grid.activations(), "images": grid.image_indices(),
                  "patches": _stacked([[cell.patch for cell in row] for row in grid.cells]),
                  "projections": _stacked([[cell.projection for cell in row] for row in grid.cells])}
        if grid.filters:
            arrays["filters"] = np.stack(grid.filters)
        return arrays

    def resolved(self) -> dict[str, Any]:
        """The run, layer, units and epochs shown, and the images sampled."""
        grid = self.evolution
        return {"run": self.run, "layer": grid.layer, "units": list(grid.units), "epochs": list(grid.epochs),
                "images": grid.images.name}


def _stacked(rows: list[list[np.ndarray]]) -> np.ndarray:
    height = max(p.shape[0] for row in rows for p in row)
    width = max(p.shape[1] for row in rows for p in row)
    channels = rows[0][0].shape[2]
    out = np.full((len(rows), len(rows[0]), height, width, channels), np.nan, np.float32)
    for i, row in enumerate(rows):
        for j, picture in enumerate(row):
            out[i, j, :picture.shape[0], :picture.shape[1]] = picture
    return out


def run(model: LoadedModel | None, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, EvolutionResult]:
    """Scan a sample with each chosen epoch's checkpoint (on ``model``'s device when given), then project."""
    settings = settings or Settings()
    record = open_one(source.run_folders(), "feature evolution")
    pool = source.dataset if source.dataset is not None else recorded_split(record.folder, settings.split)
    images = evolution.sample(pool, settings.images, settings.seed)
    device = str(model.device) if model is not None else "cpu"
    grid = yield from evolution.evolution_steps(record, images, layer=settings.layer, units=settings.units,
                                                count=settings.count, epochs=settings.epochs, device=device,
                                                batch_size=settings.batch_size)
    return EvolutionResult(settings=settings, head=about(NAME, None, source), evolution=grid, run=record.folder.name)


def check(model: LoadedModel | None, settings: Settings) -> None:
    """Nothing depends on the current model (the run's checkpoints are scanned)."""


def cell_picture(projection: np.ndarray, patch: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """A cell as shown: the projection left of the patch [h, 2w + gap, C] in [0, 1], each padded to ``size``
    (h, w; default its own) with NaN, as is the gap."""
    height, width = size or projection.shape[:2]
    padded = np.full((2, height, width, projection.shape[2]), np.nan, np.float32)
    for slot, picture in enumerate((projection, patch)):
        padded[slot, :picture.shape[0], :picture.shape[1]] = picture
    return make_atlas(padded, columns=2, pad=max(1, width // 12)).image


def filter_mosaic(weights: np.ndarray) -> np.ndarray:
    """The filters [out, in, kH, kW] as one picture, each scaled to its own range: colour for 3 inputs, else
    the first input channel in grey; [H, W(, 3)] in [0, 1], NaN between filters."""
    shown = weights.transpose(0, 2, 3, 1) if weights.shape[1] == 3 else weights[:, 0]
    flat = shown.reshape(len(shown), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    scaled = (shown - low.reshape((-1,) + (1,) * (shown.ndim - 1))) / np.maximum(
        high - low, 1e-12).reshape((-1,) + (1,) * (shown.ndim - 1))
    return make_atlas(scaled.astype(np.float32), pad=1).image


def rgba(picture: np.ndarray) -> np.ndarray:
    """``picture`` ([H, W], [H, W, 1] or [H, W, 3] in [0, 1], NaN blank) as RGBA [H, W, 4] float32 (blank:
    transparent)."""
    rgb = picture if picture.ndim == 3 and picture.shape[2] == 3 else np.repeat(
        (picture[..., 0] if picture.ndim == 3 else picture)[..., None], 3, axis=2)
    alpha = (~np.isnan(rgb).any(axis=2)).astype(np.float32)
    return np.concatenate([np.nan_to_num(np.clip(rgb, 0, 1)), alpha[..., None]], axis=2).astype(np.float32)


def grid_picture(result: EvolutionResult, gap: int = 4) -> tuple[np.ndarray, list[float], list[float]]:
    """The whole grid as one RGBA picture [H, W, 4] (rows: epochs; columns: units, then the first filters when
    the settings show them; cells as :func:`cell_picture`, the filters scaled to a cell's height), and the
    centres of its columns and rows in pixels (for labels)."""
    grid = result.evolution
    size = (max(c.patch.shape[0] for row in grid.cells for c in row),
            max(c.patch.shape[1] for row in grid.cells for c in row))
    rows = []
    for e in range(len(grid.epochs)):
        cells = [rgba(cell_picture(cell.projection, cell.patch, size)) for cell in grid.cells[e]]
        if result.settings.filters and grid.filters:
            cells.append(_to_height(rgba(filter_mosaic(grid.filters[e])), cells[0].shape[0]))
        rows.append(cells)
    widths = [max(row[j].shape[1] for row in rows) for j in range(len(rows[0]))]
    height = rows[0][0].shape[0]
    picture = np.zeros((len(rows) * (height + gap) - gap, sum(widths) + gap * (len(widths) - 1), 4), np.float32)
    lefts = np.cumsum([0, *[w + gap for w in widths[:-1]]])
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            top = i * (height + gap)
            picture[top:top + cell.shape[0], lefts[j]:lefts[j] + cell.shape[1]] = cell
    return picture, [float(left + w / 2) for left, w in zip(lefts, widths)], [
        float(i * (height + gap) + height / 2) for i in range(len(rows))]


def _to_height(picture: np.ndarray, height: int) -> np.ndarray:
    """``picture`` resized (nearest neighbour) to ``height`` rows, keeping its aspect."""
    scale = height / picture.shape[0]
    width = max(1, round(picture.shape[1] * scale))
    rows = np.minimum((np.arange(height) / scale).astype(int), picture.shape[0] - 1)
    columns = np.minimum((np.arange(width) / scale).astype(int), picture.shape[1] - 1)
    return picture[rows][:, columns]


def _show(ax: Any, picture: np.ndarray) -> None:
    ax.imshow(rgba(picture), interpolation="nearest")
    figures.plain(ax)


def figure(result: EvolutionResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: one row per epoch, one column per unit, each cell the unit's deconvnet projection left
    of its strongest patch (Zeiler & Fergus Fig. 4), its top activation below; in a last column the first
    convolution's filters at that epoch."""
    grid = result.evolution
    show_filters = result.settings.filters and bool(grid.filters)
    rows, columns = len(grid.epochs), len(grid.units) + (1 if show_filters else 0)
    size = (max(c.patch.shape[0] for row in grid.cells for c in row), max(c.patch.shape[1] for row in grid.cells
                                                                            for c in row))
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=rows / max(columns, 1) * 0.7)
        axes = np.asarray(fig.subplots(rows, columns, squeeze=False))
        for e, epoch in enumerate(grid.epochs):
            axes[e, 0].set_ylabel(f"epoch {epoch}", fontsize=figures.FONT_PT)
            for u, unit in enumerate(grid.units):
                cell = grid.cells[e][u]
                _show(axes[e, u], cell_picture(cell.projection, cell.patch, size))
                axes[e, u].set_xlabel(f"{cell.hit.activation:.3g}", fontsize=figures.MIN_FONT_PT, labelpad=1)
                if e == 0:
                    axes[e, u].set_title(f"unit {unit}", fontsize=figures.FONT_PT)
            if show_filters:
                _show(axes[e, -1], filter_mosaic(grid.filters[e]))
                if e == 0:
                    axes[e, -1].set_title("first filters", fontsize=figures.FONT_PT)
        fig.suptitle(f"{grid.layer}: each unit's deconvnet projection (left) and strongest patch (right)\n"
                     "its top activation below" + (f"; last column: {grid.first_conv}'s filters" if show_filters
                                                   else ""), fontsize=figures.FONT_PT)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "feature evolution during training: units' strongest patches at each epoch (Z&F Fig. 4)",
                    Settings, run, figure, input="runs", check=check)
