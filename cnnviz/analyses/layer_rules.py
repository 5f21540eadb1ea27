"""Which layer an analysis uses when its settings leave ``layer`` empty: the rules the panes have always
followed, on the layers the analyses offer (:func:`cnnviz.core.per_image.layer_choices.layer_choices`)."""

from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.layer_choices import LayerChoice, layer_choices


def _maps(choices: list[LayerChoice]) -> list[LayerChoice]:
    return [c for c in choices if not c.is_vector]


def first_conv(model: LoadedModel) -> str:
    """The first convolution (else the first layer with maps, else the first layer)."""
    choices = layer_choices(model)
    convs = [c.name for c in choices if c.type == "Conv2d"]
    return (convs or [c.name for c in _maps(choices)] or [choices[0].name])[0]


def last_conv(model: LoadedModel) -> str:
    """The last convolution (else the last layer with maps, else the first layer)."""
    choices = layer_choices(model)
    convs = [c.name for c in choices if c.type == "Conv2d"]
    return (convs or [c.name for c in _maps(choices)] or [choices[0].name])[-1]


def last_rectified(model: LoadedModel) -> str:
    """The last ReLU or convolution with feature maps (else the last layer with maps, else the first layer)."""
    choices = layer_choices(model)
    maps = _maps(choices)
    preferred = [c.name for c in maps if c.type in ("ReLU", "Conv2d")]
    return (preferred or [c.name for c in maps] or [choices[0].name])[-1]


def middle_map(model: LoadedModel) -> str:
    """The middle one of the layers with maps (deep enough to dream, still spatial)."""
    choices = layer_choices(model)
    maps = [c.name for c in _maps(choices)] or [choices[0].name]
    return maps[len(maps) // 2]


def checked_layer(model: LoadedModel, layer: str, analysis: str, *, maps_only: bool = False) -> LayerChoice:
    """The offered layer called ``layer``; ValueError naming the layers there are (``maps_only``: those with
    a [C, H, W] output)."""
    choices = layer_choices(model)
    if maps_only:
        choices = _maps(choices)
    for choice in choices:
        if choice.name == layer:
            return choice
    names = [c.name for c in choices]
    shown = ", ".join(names[:40]) + (", …" if len(names) > 40 else "")
    raise ValueError(f"layer: {layer!r} is not a layer of the {analysis} analysis; layers: {shown}")
