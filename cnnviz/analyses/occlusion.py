"""Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7) as an analysis: a square occluder slides over the
input and, for every position, maps (b) the total activation of the layer's strongest feature map,
(d) the target-class probability and (e) the most probable class; (c) is that feature map's deconvnet
projection on the unoccluded image. The maths is :func:`cnnviz.core.per_image.occlusion.occlusion_job`.
"""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.class_palette import order_of_appearance
from cnnviz.core.per_image import deconv, occlusion
from cnnviz.core.per_image.occlusion import FILLS, OcclusionResult
from cnnviz.core.settings import SettingsBase, setting

NAME = "occlusion"
COLORMAPS = tuple(figures.COLORMAPS)


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Occluder and display settings; None leaves the value to the model (see each field's help)."""

    layer: str = setting("", label="Layer", help="Layer whose strongest feature map is mapped in (b); empty: "
                         "the last ReLU or convolution with maps.")
    target: int | None = setting(None, label="Target class", help="Class whose probability is mapped in (d).",
                                 low=0, none="the top-1 class")
    window: int | None = setting(None, label="Window", unit="px", low=1, high=4096, none="a seventh of the input",
                                 help="Side of the square occluder, in input pixels.")
    stride: int | None = setting(None, label="Stride", unit="px", low=1, high=4096, none="a quarter of the window",
                                 help="Step between occluder positions, in input pixels.")
    fill: str = setting("mean", label="Fill", choices=FILLS,
                        help="What covers the occluded square: the dataset mean colour, black, a blurred "
                             "copy of the image or seeded noise.")
    seed: int = setting(0, label="Noise seed", low=0, high=2**31 - 1, help="Seed of the noise fill.")
    batch_size: int = setting(0, label="Batch", low=0, high=512, caption=False,
                              help="Occluded images per forward pass, 0 for automatic (lowered to what fits in "
                                   "memory).")
    colormap: str = setting("viridis", label="Colormap", choices=COLORMAPS, caption=False,
                            help="Colormap of the maps (b) and (d).")
    opacity: int = setting(70, label="Opacity", unit="%", low=0, high=100, caption=False,
                           help="Opacity of the maps over the input on screen.")


@dataclass(frozen=True, kw_only=True)
class OcclusionAnalysis(Result):
    """The maps (:class:`~cnnviz.core.per_image.occlusion.OcclusionResult`), the input as shown (``image``: [H, W] or
    [H, W, 3] uint8), the strongest map's deconvnet ``projection`` ([H, W, C] in [0, 1], None without one;
    ``projection_error`` says why) of its unit at ``projection_at`` (row, col in the layer's output grid; None
    for a layer without one) and the model's class names."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    maps: OcclusionResult
    image: np.ndarray
    projection: np.ndarray | None = None
    projection_error: str = ""
    projection_at: tuple[int, int] | None = None
    classes: tuple[str, ...] = ()

    def arrays(self) -> dict[str, np.ndarray]:
        """``prob`` and ``top_class`` [nH, nW] and, with a layer, ``feature`` [nH, nW]."""
        return self.maps.arrays()

    def tables(self) -> dict[str, str]:
        """``positions``: one row per occluder position (top, left, probability, top class, feature)."""
        return {"positions": self.maps.to_csv()}

    def resolved(self) -> dict[str, Any]:
        """The layer, its strongest channel, the target, window and stride used."""
        return {"layer": self.maps.layer, "channel": self.maps.channel, "target": self.maps.target,
                "target_name": self.class_name(self.maps.target), "window": self.maps.window,
                "stride": self.maps.stride}

    def class_name(self, index: int) -> str:
        """The name of class ``index``."""
        return self.classes[index] if 0 <= index < len(self.classes) else f"class {index}"


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer, window and stride the model gets by default."""
    window = occlusion.default_window(min(model.input_size))
    return Settings(layer=layer_rules.last_rectified(model), window=window, stride=occlusion.default_stride(window))


def check(model: LoadedModel, settings: Settings) -> None:
    """Before any image is read: the layer is one occlusion can use and the window fits the model's input
    (every image is resized to ``model.input_size``); a ValueError naming the field otherwise."""
    layer_rules.checked_layer(model, settings.layer or layer_rules.last_rectified(model), NAME)
    height, width = (int(v) for v in model.input_size)
    if settings.window is not None and settings.window > min(height, width):
        raise ValueError(f"window: the occluder ({settings.window} px) is larger than the model's input "
                         f"({height}×{width} px); give at most {min(height, width)}")


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, OcclusionAnalysis]:
    """Occlusion maps batch by batch; yields a :class:`Step` with the partial result after each batch."""
    settings = settings or Settings()
    x = source.input()
    layer = settings.layer or layer_rules.last_rectified(model)
    layer_rules.checked_layer(model, layer, NAME)
    window = settings.window or occlusion.default_window(min(model.input_size))
    stride = settings.stride or occlusion.default_stride(window)
    image = np.asarray(model.deprocess(x))
    head = about(NAME, model, source)
    job = occlusion.occlusion_job(model, x, target=settings.target, window=window, stride=stride, fill=settings.fill,
                                  layer=layer, batch_size=settings.batch_size or None, seed=settings.seed)

    def result(step: occlusion.OcclusionRun, partial: bool) -> OcclusionAnalysis:
        projection = step.projection
        shown = None if projection is None else deconv.to_display(projection.image)
        return OcclusionAnalysis(settings=settings, head=head, partial=partial, maps=step.result, image=image,
                                 projection=shown, projection_error=step.projection_error,
                                 projection_at=None if projection is None else projection.position,
                                 classes=tuple(model.categories))

    try:
        while True:
            step = next(job)
            yield Step(step.done, step.total, result(step.partial, True), "occluding")
    except StopIteration as stop:
        return result(stop.value, False)
    finally:
        job.close()


def _input_panel(ax: Any, result: OcclusionAnalysis) -> None:
    maps = result.maps
    figures.show_image(ax, result.image, "(a) Input")
    ax.add_patch(Rectangle((-0.5, -0.5), maps.window, maps.window, fill=False, edgecolor="white", linewidth=1.0))
    ax.add_patch(Rectangle((-0.5, -0.5), maps.window, maps.window, fill=False, edgecolor="black", linewidth=0.5,
                           linestyle=(0, (2, 2))))
    ax.set_xlabel(f"occluder {maps.window} px, stride {maps.stride} px\nfill {maps.fill}", fontsize=figures.MIN_FONT_PT)


def _extent(maps: OcclusionResult) -> tuple[float, float, float, float]:
    left, top, width, height = maps.extent()
    return left - 0.5, left + width - 0.5, top + height - 0.5, top - 0.5


def _class_panel(figure: Figure, ax: Any, legend_ax: Any, result: OcclusionAnalysis) -> None:
    maps = result.maps
    order = np.argsort(-np.bincount(np.clip(maps.top_class.ravel(), 0, None)), kind="stable")
    colours = order_of_appearance(int(i) for i in order if (maps.top_class == i).any())
    rgba = np.ones(maps.top_class.shape + (4,))
    rgba[..., 3] = 0.0
    for index, colour in colours.items():
        rgba[maps.top_class == index] = (*_rgb(colour), 1.0)
    ax.imshow(rgba, extent=_extent(maps), interpolation="nearest")
    figures.limit_to(ax, result.image.shape[:2])
    figures.plain(ax, "(e) Most probable class")
    counts = {i: int((maps.top_class == i).sum()) for i in colours}
    shown = list(colours)[:12]
    handles = [Patch(color=colours[i], label=f"{_short(result.class_name(i))} ({counts[i]})") for i in shown]
    legend_ax.axis("off")
    if handles:
        rest = len(colours) - len(shown)
        title = "class (positions)" + (f", {rest} more" if rest else "")
        legend_ax.legend(handles=handles, loc="upper left", title=title,
                         title_fontsize=figures.MIN_FONT_PT, borderaxespad=0.0, handlelength=1.0)


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def figure(result: OcclusionAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) input with the occluder, (b) strongest feature map's total activation, (c) its
    deconvnet projection, (d) target probability, (e) most probable class with its legend; the caption below."""
    maps = result.maps
    cmap = result.settings.colormap
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.7)
        narrow = fig.get_figwidth() < figures.NARROW_IN
        axes = fig.subplots(3, 2).reshape(2, 3) if narrow else fig.subplots(2, 3)
        _input_panel(axes[0, 0], result)
        if maps.feature is not None:
            figures.show_map(fig, axes[0, 1], maps.feature, cmap=cmap, extent=_extent(maps),
                             title=f"(b) {maps.layer}, map {maps.channel}", label="total activation")
            figures.limit_to(axes[0, 1], result.image.shape[:2])
        else:
            figures.plain(axes[0, 1], "(b) no layer")
        if result.projection is not None:
            figures.show_image(axes[0, 2], result.projection, f"(c) Deconvnet of map {maps.channel}")
        else:
            figures.plain(axes[0, 2], "(c) no projection")
            axes[0, 2].text(0.5, 0.5, result.projection_error or "no layer", ha="center", va="center",
                            wrap=True, fontsize=figures.MIN_FONT_PT, transform=axes[0, 2].transAxes)
        figures.show_map(fig, axes[1, 0], maps.prob, cmap=cmap, vmin=0.0, vmax=1.0, extent=_extent(maps),
                         title=f"(d) p({_short(result.class_name(maps.target))})", label="probability")
        figures.limit_to(axes[1, 0], result.image.shape[:2])
        _class_panel(fig, axes[1, 1], axes[1, 2], result)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "occlusion sensitivity maps (Zeiler & Fergus Fig. 7)", Settings, run, figure,
                    defaults=defaults, check=check)
