"""The background side of the Attribution pane: the shown maps and their metrics as one worker job.

A :class:`PanelKey` names one map (method, target class, CAM layer, parameters); a :class:`PanelResult`
holds what is computed for it (the :class:`~cnnviz.core.per_image.attribution.Attribution`, the deletion and
insertion curves, the randomisation records) and grows part by part. :func:`attribution_job` computes
the missing :data:`PARTS` of every panel of an :class:`AttributionRequest` through the core
(:func:`cnnviz.core.per_image.attribution.attribute_steps` and :mod:`cnnviz.core.per_image.attribution.metrics`): first
every map, then the curves, then the randomisation tests, yielding a step (parts done of total, ``partial``: every
panel's result so far) after each step of each part so the pane can show what is ready. A part that fails is
recorded in its panel's ``errors`` and the others go on.
"""

import dataclasses
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution import Attribution, metrics
from cnnviz.core.per_image.attribution.cam import cam_layers
from cnnviz.core.progress import Step
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices

PARTS = ("map", "deletion", "insertion", "randomisation")
"""What can be computed for a panel, in the order the job computes them."""
FIELDS = {"map": "attribution", "deletion": "deletion", "insertion": "insertion",
          "randomisation": "randomisation"}
"""The :class:`PanelResult` field holding each part."""


@dataclass(frozen=True)
class PanelKey:
    """One map: ``method`` (one of :data:`cnnviz.core.per_image.attribution.METHODS`) for class ``target`` (an
    output index) on CAM ``layer`` (None for a pixel method) with ``params`` as sorted (name, value) pairs."""

    method: str
    target: int
    layer: str | None
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments of the core's methods."""
        return dict(self.params)


@dataclass(frozen=True)
class PanelResult:
    """What is computed for ``key`` so far (None: not yet): the ``attribution``, the ``deletion`` and
    ``insertion`` curves (:class:`~cnnviz.core.per_image.attribution.metrics.Curve`), the ``randomisation``
    records (one per re-initialisation step) and ``errors`` (part -> message) of parts that failed."""

    key: PanelKey
    attribution: Attribution | None = None
    deletion: Any = None
    insertion: Any = None
    randomisation: tuple[Any, ...] | None = None
    errors: tuple[tuple[str, str], ...] = ()

    def has(self, part: str) -> bool:
        """True when ``part`` (one of :data:`PARTS`) is computed or failed (nothing more to do)."""
        return getattr(self, FIELDS[part]) is not None or part in dict(self.errors) or (
            part != "map" and "map" in dict(self.errors))

    def error(self, part: str) -> str:
        """Why ``part`` failed ("" if it did not)."""
        return dict(self.errors).get(part, "")


@dataclass(frozen=True, eq=False)
class AttributionRequest:
    """What one run computes: the ``panels`` of ``model`` on input ``x`` [1, C, H, W] (both compared by
    identity), each with the ``parts`` (a subsequence of :data:`PARTS`)."""

    model: LoadedModel
    x: torch.Tensor
    panels: tuple[PanelKey, ...]
    parts: tuple[str, ...]


Item = tuple[PanelResult, ...]
"""The ``partial`` of the job's steps: every panel's result so far."""


def cam_layer_choices(model: LoadedModel) -> list[LayerChoice]:
    """The layers a CAM can use (:func:`cnnviz.core.per_image.attribution.cam.cam_layers`), as layer choices, in
    the order their outputs are made; the last is the default."""
    usable = cam_layers(model)
    by_name = {choice.name: choice for choice in layer_choices(model)}
    return [by_name[name] for name in usable if name in by_name]


def missing(results: Iterable[PanelResult], parts: tuple[str, ...]) -> list[tuple[int, str]]:
    """(panel index, part) of every part still to compute, parts first (every map before any curve)."""
    listed = list(results)
    return [(index, part) for part in PARTS if part in parts
            for index, result in enumerate(listed) if not result.has(part)]


def _part_steps(model: LoadedModel, x: torch.Tensor, result: PanelResult, part: str) -> Generator[Any, None, Any]:
    key = result.key
    if part == "map":
        return attribution.attribute_steps(model, x, method=key.method, target=key.target, layer=key.layer,
                                           **key.kwargs)
    if part in ("deletion", "insertion"):
        # missing() puts every map first, and a panel whose map failed has no curves to compute.
        assert result.attribution is not None
        steps = metrics.deletion_steps if part == "deletion" else metrics.insertion_steps
        return steps(model, x, result.attribution)
    return metrics.randomisation_steps(model, x, method=key.method, target=key.target, layer=key.layer,
                                       **dict(key.params))


def _relay(steps: Generator, done: int, total: int, results: list[PanelResult]) -> Generator[Step, None, Any]:
    """Run ``steps`` to its end, yielding the job's step after each of its steps; closing this closes it."""
    try:
        while True:
            next(steps)
            yield Step(done, total, tuple(results))
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()


def attribution_job(model: LoadedModel, x: torch.Tensor, panels: tuple[PanelKey, ...], parts: tuple[str, ...],
                    known: dict[PanelKey, PanelResult] | None = None
                    ) -> Generator[Step, None, tuple[PanelResult, ...]]:
    """Compute the ``parts`` of ``panels`` that ``known`` (results computed before for this model and
    input) lacks; yields steps whose ``partial`` is an :data:`Item` and returns every panel's result, in
    panel order."""
    known = known or {}
    results = [known.get(key, PanelResult(key)) for key in panels]
    todo = missing(results, parts)
    for done, (index, part) in enumerate(todo):
        result = results[index]
        if result.has(part):  # its map failed meanwhile
            continue
        try:
            value = yield from _relay(_part_steps(model, x, result, part), done, len(todo), results)
        except Exception as error:  # one method failing (a layer without a grid, memory) leaves the others
            results[index] = dataclasses.replace(result, errors=(*result.errors, (part, str(error))))
        else:
            stored = tuple(value) if part == "randomisation" else value
            changes: dict[str, Any] = {FIELDS[part]: stored}
            results[index] = dataclasses.replace(result, **changes)
        yield Step(done + 1, len(todo), tuple(results))
    return tuple(results)
