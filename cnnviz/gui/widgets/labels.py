"""Texts shown for models, inputs and sizes, the same in the title, status bar and panes."""

import math

from PIL import Image

from cnnviz.core.model.models import LoadedModel

UNTRAINED = "UNTRAINED (random weights)"


def model_label(model: LoadedModel | None) -> str:
    """The model's name, followed by :data:`UNTRAINED` when its weights are random."""
    if model is None:
        return "no model"
    return model.name if model.pretrained else f"{model.name} — {UNTRAINED}"


def window_title(model: LoadedModel | None) -> str:
    """The main window's title: ``cnnviz — <model label>``."""
    return "cnnviz" if model is None else f"cnnviz — {model_label(model)}"


def input_description(model: LoadedModel) -> str:
    """The network input's size and colour, e.g. ``28×28, grayscale`` or ``224×224 RGB``."""
    height, width = model.input_size
    if model.in_channels == 1:
        return f"{width}×{height}, grayscale"
    if model.in_channels == 3:
        return f"{width}×{height} RGB"
    return f"{width}×{height}, {model.in_channels} channels"


def image_description(image: Image.Image) -> str:
    """An image's size and mode, e.g. ``640×480 RGB``."""
    width, height = image.size
    return f"{width}×{height} {image.mode}"


def format_bytes(count: int) -> str:
    """A byte count for people: ``812 B``, ``4.2 MB``, ``1.3 GB``."""
    units = ("B", "kB", "MB", "GB")
    size, unit = float(count), 0
    while size >= 1000 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    return f"{count} B" if unit == 0 else f"{size:.1f} {units[unit]}"


def parameter_count(model: LoadedModel) -> int:
    """Number of parameters of the model's module."""
    return sum(p.numel() for p in model.module.parameters())


def percent(probability: float) -> str:
    """A probability as a percentage with sensible precision: ``97.3%``, ``0.42%``, ``<0.01%``;
    ``n/a`` for a non-finite value (a model whose output is NaN or inf)."""
    if not math.isfinite(probability):
        return "n/a"
    value = probability * 100
    if value >= 10:
        return f"{value:.1f}%"
    if value >= 0.01:
        return f"{value:.2f}%"
    return "<0.01%"
