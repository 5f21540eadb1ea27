"""The table of attribution methods and :func:`attribute`, the one entry point to all of them."""

import inspect
from collections.abc import Callable, Generator
from typing import Any

import torch

from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.attribution import cam, gradients, integrated, smooth
from cnnviz.core.per_image.attribution.cam import default_layer
from cnnviz.core.per_image.attribution.common import resolve_target
from cnnviz.core.per_image.attribution.result import Attribution
from cnnviz.core.progress import ProgressFn, Step, run_to_end

_STEPS: dict[str, Callable[..., Generator[Step, None, Attribution]]] = {
    **cam.STEPS, **integrated.STEPS, **smooth.STEPS, **gradients.STEPS,
}

METHODS: tuple[str, ...] = tuple(_STEPS)
"""Every method :func:`attribute` accepts."""

LAYER_METHODS: tuple[str, ...] = tuple(cam.STEPS)
"""The methods that work on a layer (the CAM family); the others attribute input pixels."""


def parameters(method: str) -> dict[str, Any]:
    """The parameters ``method`` accepts besides model, input, target and layer, with their defaults."""
    signature = inspect.signature(_steps_of(method))
    return {name: p.default for name, p in signature.parameters.items()
            if p.kind is p.KEYWORD_ONLY and name not in ("target", "layer")}


def _steps_of(method: str) -> Callable[..., Generator[Step, None, Attribution]]:
    if method not in _STEPS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return _STEPS[method]


def attribute_steps(model: LoadedModel, x: torch.Tensor, *, method: str = "gradcam", target: int | None = None,
                    layer: str | None = None, **params: Any) -> Generator[Step, None, Attribution]:
    """:func:`attribute` as a generator of :class:`~cnnviz.core.progress.Step`; closing it cancels the work."""
    steps = _steps_of(method)
    accepted = parameters(method)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"{method} has no parameter {', '.join(map(repr, unknown))}; "
                         f"it takes {', '.join(accepted) or 'none'}")
    target = resolve_target(model, x, target)
    if method in LAYER_METHODS:
        layer = layer or default_layer(model)
    return (yield from steps(model, x, target=target, layer=layer, **params))


def attribute(model: LoadedModel, x: torch.Tensor, *, method: str = "gradcam", target: int | None = None,
              layer: str | None = None, progress: ProgressFn | None = None, **params: Any) -> Attribution:
    """Attribution map of ``method`` (one of :data:`METHODS`) for class ``target`` of one image.

    ``x``: preprocessed input [1, C, H, W]. ``target``: an output index; None takes the most probable
    class. ``layer``: the CAM family's layer (None: :func:`default_layer`); pixel methods ignore it.
    ``params``: the method's own parameters (see :func:`parameters`). ``progress(done, total)``
    returning False cancels (:class:`~cnnviz.core.Cancelled`). Hooks are removed in every case.
    """
    return run_to_end(attribute_steps(model, x, method=method, target=target, layer=layer, **params), progress)

