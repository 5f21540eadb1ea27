"""One unit's projection back to pixel space (Zeiler & Fergus 2014) as an analysis: the strongest unit of a
layer, or a chosen ``channel`` (and ``row``/``col`` in its map), sent back to the input by the deconvnet,
guided backpropagation or the plain gradient. The maths is :func:`cnnviz.core.per_image.deconv.project_unit`.

The figure shows (a) the input with the unit's receptive field boxed, (b) the projection, (c) the input
under the field and (d) the projection under the field, with the projection's warning (not exact for this
model) or note (the same for every image) as text below the panels. The helpers that draw projections
and that text are shared with :mod:`cnnviz.analyses.top9`.
"""

import dataclasses
import textwrap
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.analyses.finite import check_finite
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.layer_choices import LayerChoice
from cnnviz.core.settings import SettingsBase, setting

NAME = "deconv"
METHOD_TITLES = {"deconvnet": "Deconvnet", "guided": "Guided backprop", "gradient": "Gradient"}
"""Title of each projection method (:data:`cnnviz.core.per_image.deconv.METHODS`)."""
DISPLAYS = ("symmetric", "abs")
"""How a projection is scaled for display (:func:`cnnviz.core.per_image.deconv.to_display`)."""
METHOD_HELP = ("How the unit is sent back to the input: deconvnet (Zeiler & Fergus: ReLUs pass relu(signal), "
               "max-poolings use the forward switches), guided (guided backpropagation: ReLUs pass relu(signal) only "
               "where their forward input was positive) or gradient (the plain gradient, saliency).")
DISPLAY_LABELS = {"symmetric": "signed, grey = 0", "abs": "absolute value"}
"""How each display is named under the figure's projections."""
DISPLAY_HELP = ("How the projection is shown: symmetric (grey = 0, so the sign is visible) or abs (the absolute "
                "value), each scaled by the largest magnitude.")
TEXT_CHAR_EM = 0.58
"""Width of an average character of the figure's font, in em (a safe estimate for wrapping)."""
TEXT_ROW_RATIO = 0.001
"""Height of the axes under a text row, as a fraction of the figure's width (almost none: its label is the text)."""
TEXT_MARGIN_IN = 0.15
"""How much narrower than the figure a text row below the panels is wrapped, in inches."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Layer, unit and method of the projection; None leaves the unit to the image (the strongest)."""

    layer: str = setting("", label="Layer", help="Layer whose unit is projected; empty: the last convolution.")
    method: str = setting("deconvnet", label="Method", choices=deconv.METHODS, help=METHOD_HELP)
    display: str = setting("symmetric", label="Show", choices=DISPLAYS, help=DISPLAY_HELP)
    channel: int | None = setting(None, label="Channel", low=0, none="the strongest channel",
                                  help="Channel (unit of a vector layer) to project.")
    row: int | None = setting(None, label="Row", low=0, none="the channel's strongest position",
                              help="Row of the unit in the layer's map (with col); both empty: the strongest.")
    col: int | None = setting(None, label="Column", low=0, none="the channel's strongest position",
                              help="Column of the unit in the layer's map (with row); both empty: the strongest.")

    def check(self) -> None:
        """Row and col go together."""
        if (self.row is None) != (self.col is None):
            raise ValueError("row, col: give both (the unit's position in the map) or neither (the strongest)")


@dataclass(frozen=True, kw_only=True)
class DeconvResult(Result):
    """One unit's ``projection`` ([C, H, W] float32 in input space, as the core returns it), its ``display``
    ([H, W] or [H, W, 3] in [0, 1], scaled as ``settings.display`` says), the unit (``layer``, ``channel``,
    ``position`` (row, col) or None for a vector layer, ``activation``, ``unit_name``: its class where the
    layer's units are classes), its receptive-field ``box`` (top, left, bottom, right; input pixels, bottom
    and right exclusive), the input as shown (``image``: [H, W] or [H, W, 3] uint8) and the projection's
    ``warning`` and ``note`` (empty where there is none)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    projection: np.ndarray
    display: np.ndarray
    image: np.ndarray
    layer: str
    channel: int
    position: tuple[int, int] | None
    activation: float
    box: tuple[int, int, int, int]
    unit_name: str = ""
    warning: str = ""
    note: str = ""

    def arrays(self) -> dict[str, np.ndarray]:
        """``projection`` [C, H, W] and ``box`` [4] (top, left, bottom, right), as the pane exports them."""
        return {"projection": self.projection, "box": np.asarray(self.box)}

    def resolved(self) -> dict[str, Any]:
        """The layer, the unit projected (channel, row, col; its class where it is one), how it was chosen,
        its activation (4 significant digits) and receptive field."""
        row, col = self.position if self.position is not None else (None, None)
        fields: dict[str, Any] = {"layer": self.layer, "channel": self.channel, "row": row, "col": col,
                                  "unit": unit_choice(self.settings.channel, self.settings.row)}
        if self.unit_name:
            fields["class_name"] = self.unit_name
        return fields | {"activation": float(f"{self.activation:.4g}"), "field": box_text(self.box)}


def unit_choice(channel: int | None, row: int | None) -> str:
    """How the unit was chosen: ``"strongest"``, ``"channel's strongest"`` or ``"given"``."""
    if channel is None and row is None:
        return "strongest"
    return "channel's strongest" if row is None else "given"


def box_text(box: tuple[int, int, int, int]) -> str:
    """``"13×13 px from (0, 4)"``: a receptive field's size (height×width) and top-left corner."""
    top, left, bottom, right = box
    return f"{bottom - top}×{right - left} px from ({top}, {left})"


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer the model gets by default (its last convolution)."""
    return Settings(layer=layer_rules.last_conv(model))


def checked_unit(choice: LayerChoice, settings: Settings) -> tuple[int, int] | None:
    """The position ``settings`` ask for in layer ``choice`` (None: the strongest); ValueError naming the field
    for a channel or position outside the layer."""
    if settings.channel is not None and settings.channel >= choice.channels:
        raise ValueError(f"channel: {settings.channel} is outside 0…{choice.channels - 1} ({choice.name} has "
                         f"{choice.channels} channels)")
    if settings.row is None or settings.col is None:
        return None
    if choice.is_vector:
        raise ValueError(f"row, col: {choice.name} has no map (its output is a vector); leave them empty")
    height, width = choice.shape[1:]
    if settings.row >= height or settings.col >= width:
        raise ValueError(f"row, col: ({settings.row}, {settings.col}) is outside {choice.name}'s {height}×{width} "
                         f"map (rows 0…{height - 1}, cols 0…{width - 1})")
    return settings.row, settings.col


def display_array(projection: torch.Tensor, mode: str) -> np.ndarray:
    """A projection [C, H, W] for display in [0, 1] (:func:`cnnviz.core.per_image.deconv.to_display`): [H, W] for one
    channel, [H, W, 3] for colour."""
    shown = deconv.to_display(projection, mode)
    return shown[:, :, 0] if shown.shape[2] == 1 else shown


def unit_name(model: LoadedModel, choice: LayerChoice, channel: int) -> str:
    """The class of ``channel`` where the layer's units are the model's classes, else ""."""
    return model.class_name(channel) if choice.class_scores else ""


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, DeconvResult]:
    """Project the unit ``settings`` ask for; yields one :class:`Step` before the (single) projection."""
    settings = settings or Settings()
    x = source.input()
    layer = settings.layer or layer_rules.last_conv(model)
    choice = layer_rules.checked_layer(model, layer, NAME)
    position = checked_unit(choice, settings)
    yield Step(0, 1, None, f"projecting {layer} ({settings.method})")
    unit = deconv.project_unit(model, x, layer=layer, channel=settings.channel, position=position,
                               method=settings.method)
    check_finite(model, layer, unit.activation, unit.image)
    return DeconvResult(settings=settings, head=about(NAME, model, source), projection=unit.image.numpy(),
                        display=display_array(unit.image, settings.display), image=np.asarray(model.deprocess(x)),
                        layer=layer, channel=unit.channel, position=unit.position, activation=unit.activation,
                        box=unit.box, unit_name=unit_name(model, choice, unit.channel), warning=unit.warning,
                        note=unit.note)


def with_display(result: DeconvResult, display: str) -> DeconvResult:
    """``result`` shown with ``display`` (one of :data:`DISPLAYS`) instead: its settings and display array
    replaced, the projection kept (no new projection)."""
    settings = dataclasses.replace(result.settings, display=display)
    return dataclasses.replace(result, settings=settings,
                               display=display_array(torch.from_numpy(result.projection), display))


def show_display(ax: Axes, display: np.ndarray, title: str = "") -> None:
    """Draw a projection's display array ([h, w] grey or [h, w, 3], values in [0, 1]) in ``ax`` at equal
    aspect, grey 0.5 meaning 0 for the symmetric display."""
    ax.imshow(np.clip(display, 0.0, 1.0), cmap="gray" if display.ndim == 2 else None, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    figures.plain(ax, title)


def draw_box(ax: Axes, box: tuple[int, int, int, int]) -> None:
    """The receptive field ``box`` (top, left, bottom, right; bottom/right exclusive) over an image in ``ax``,
    white under a dashed black line so it shows on any picture."""
    top, left, bottom, right = box
    corner, size = (left - 0.5, top - 0.5), (right - left, bottom - top)
    ax.add_patch(Rectangle(corner, *size, fill=False, edgecolor="white", linewidth=1.2))
    ax.add_patch(Rectangle(corner, *size, fill=False, edgecolor="black", linewidth=0.6, linestyle=(0, (2, 2))))


def wrap(text: str, width_in: float, size: float = figures.MIN_FONT_PT) -> list[str]:
    """``text`` in lines that fit ``width_in`` inches at ``size`` points (long words such as layer names are
    broken)."""
    chars = max(8, int(width_in * 72 / (size * TEXT_CHAR_EM)))
    return textwrap.wrap(text, chars, break_long_words=True) or [""]


def remarks(warning: str, note: str) -> str:
    """The projection's warning and note as one text (empty: neither)."""
    return " ".join(t for t in (warning and f"Warning: {warning}", note and f"Note: {note}") if t)


def text_row(ax: Axes, text: str, width_in: float) -> None:
    """``text`` wrapped to ``width_in`` inches as the x label of ``ax``, a frameless axes of almost no height
    spanning the figure's width: constrained layout keeps the label's height (in inches) free below the
    panels however :func:`figures.finish` trims the figure."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.patch.set_visible(False)
    ax.set_xlabel("\n".join(wrap(text, width_in)), loc="left", fontsize=figures.MIN_FONT_PT, linespacing=1.3,
                  color="0.15", labelpad=0)


def panel_grid(fig: Figure, count: int, columns: int, text: str = "", decoration_in: float = 0.6,
               aspect: float = 1.0) -> list[Axes]:
    """``count`` image panels in rows of ``columns`` filling ``fig``'s width and, with ``text``, a frameless row
    below holding it (:func:`text_row`); sets the figure's height to a first guess (``decoration_in``: inches of
    titles and labels per row of panels, ``aspect``: a panel's height / width) that :func:`figures.finish` then
    trims. Returns the panels."""
    width = fig.get_figwidth()
    rows = -(-count // columns)
    heights = [width / columns * aspect + decoration_in] * rows + ([TEXT_ROW_RATIO * width] if text else [])
    lines = len(wrap(text, width - TEXT_MARGIN_IN)) if text else 0
    fig.set_figheight(sum(heights) + lines * 1.3 * figures.MIN_FONT_PT / 72)
    grid = fig.add_gridspec(len(heights), columns, height_ratios=heights)
    panels = [fig.add_subplot(grid[i // columns, i % columns]) for i in range(count)]
    if text:
        text_row(fig.add_subplot(grid[rows, :]), text, width - TEXT_MARGIN_IN)
    return panels


def short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis where longer."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unit_label(result: DeconvResult) -> str:
    where = f" at ({result.position[0]}, {result.position[1]})" if result.position is not None else ""
    name = f" ({short(result.unit_name, 14)})" if result.unit_name else ""
    return f"channel {result.channel}{name}{where}\nactivation {result.activation:.4g}"


def figure(result: DeconvResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the input with the unit's receptive field, (b) the projection, (c) the input and
    (d) the projection under the field; the warning or note below, then the caption."""
    crop_input = deconv.crop_array(result.image, result.box)
    crop_projection = deconv.crop_array(result.display, result.box)
    text = remarks(result.warning, result.note)
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px)
        columns = 2 if fig.get_figwidth() < figures.NARROW_IN else 4
        panels = panel_grid(fig, 4, columns, text)
        label_width = fig.get_figwidth() / columns - 0.1
        figures.show_image(panels[0], result.image, "(a) Input")
        draw_box(panels[0], result.box)
        panels[0].set_xlabel("\n".join(wrap(result.layer, label_width)), fontsize=figures.MIN_FONT_PT)
        show_display(panels[1], result.display, f"(b) {METHOD_TITLES[result.settings.method]}")
        draw_box(panels[1], result.box)
        panels[1].set_xlabel(_unit_label(result), fontsize=figures.MIN_FONT_PT)
        figures.show_image(panels[2], crop_input, "(c) Input in field")
        panels[2].set_xlabel(box_text(result.box), fontsize=figures.MIN_FONT_PT)
        show_display(panels[3], crop_projection, "(d) Projection in field")
        panels[3].set_xlabel(DISPLAY_LABELS[result.settings.display], fontsize=figures.MIN_FONT_PT)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "one unit's projection back to pixels (deconvnet, guided backprop or gradient)", Settings,
                    run, figure, defaults=defaults)
