"""The background side of the Attribution pane: what one run of the attribution analysis is asked for, and the maps
kept for the current model and input.

A run is :func:`cnnviz.analyses.attribution.run` on the compute worker for an :class:`AttributionRequest` (the
model, the input and the analysis settings that shape the maps: :func:`computing`, the display fields left at
their defaults so that a display change computes nothing). It is given the maps computed before for this model and
input (:class:`MapCache`), so a live change computes only the maps and parts it changes.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.analyses.attribution import PARTS, AttributionAnalysis, Map, Settings, planned_maps, wanted_parts
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image.attribution.cam import cam_layers
from cnnviz.gui.panes.tool_pane import same_request
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices

DISPLAY_FIELDS = ("display", "colormap", "opacity")
"""The settings that change how the maps are drawn, not what is computed."""


@dataclass(frozen=True, eq=False)
class AttributionRequest:
    """One run: the analysis ``settings`` (:func:`computing`) on ``model`` and input ``x`` [1, C, H, W] (both compared
    by identity)."""

    model: LoadedModel
    x: torch.Tensor
    settings: Settings


def computing(settings: Settings) -> Settings:
    """``settings`` with the :data:`DISPLAY_FIELDS` at their defaults: what a run depends on."""
    defaults = Settings()
    return settings.replace(**{name: getattr(defaults, name) for name in DISPLAY_FIELDS})


def cam_layer_choices(model: LoadedModel) -> list[LayerChoice]:
    """The layers a CAM can use (:func:`cnnviz.core.per_image.attribution.cam.cam_layers`), as layer choices, in
    the order their outputs are made; the last is the default."""
    usable = cam_layers(model)
    by_name = {choice.name: choice for choice in layer_choices(model)}
    return [by_name[name] for name in usable if name in by_name]


def planned(request: AttributionRequest | None, probabilities: np.ndarray | None) -> tuple[tuple[str, int], ...]:
    """(method, target) of each map ``request`` asks for given the input's class ``probabilities`` [classes]
    (:func:`cnnviz.analyses.attribution.planned_maps`); none without a request or probabilities, or for classes the
    model lacks."""
    if request is None or probabilities is None:
        return ()
    try:
        return tuple(planned_maps(request.settings, probabilities))
    except ValueError:
        return ()


def parts_done(result: AttributionAnalysis) -> tuple[int, int]:
    """(parts computed, parts wanted) of ``result``: a map and each curve or test its settings ask for, of every
    planned map (every part of a map whose method failed counts as done: none is computed)."""
    parts = wanted_parts(result.settings)  # type: ignore[arg-type]
    done = sum(part == "map" or item.failed or getattr(item, part) is not None
               for item in result.maps for part in parts)
    return done, len(result.planned) * len(parts)


def merged(old: Map | None, new: Map) -> Map:
    """``new`` with the parts only ``old`` (the same map, computed before) holds; ``new`` itself when it holds them
    all."""
    if old is None:
        return new
    kept = {part: getattr(old, part) for part in PARTS[1:] if getattr(new, part) is None and getattr(old, part)}
    return dataclasses.replace(new, **kept) if kept else new


class MapCache:
    """The maps computed for one model and input, by :attr:`~cnnviz.analyses.attribution.Map.key`, each with every
    part computed for it (a map computed again without its curves keeps them here)."""

    def __init__(self) -> None:
        self.maps: dict[tuple, Map] = {}
        self._for: tuple | None = None

    def follow(self, model: LoadedModel | None, x: torch.Tensor | None) -> None:
        """Forget every map when the model or the input is another."""
        if not same_request(self._for, (model, x)):
            self.maps = {}
            self._for = (model, x)

    def add(self, result: AttributionAnalysis) -> None:
        """Keep the maps of ``result`` (of the current model and input)."""
        for item in result.maps:
            self.maps[item.key] = merged(self.maps.get(item.key), item)

    def clear(self) -> None:
        """Forget every map."""
        self.maps = {}
        self._for = None
