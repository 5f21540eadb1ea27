"""Attribution maps as an analysis: which input pixels made the network score a class, and how far each map
can be trusted. Up to four methods side by side for one target class (``mode="methods"``), or one method for
up to four classes (``mode="classes"``: does the map depend on the class at all?); each map with its deletion
and insertion curves (Petsiuk et al. 2018) and, on request (it is slow), the model randomisation test (Adebayo
et al. 2018). The maths is :mod:`cnnviz.core.per_image.attribution`
(:func:`~cnnviz.core.per_image.attribution.attribute_steps`,
:func:`~cnnviz.core.per_image.attribution.metrics.deletion_steps`,
:func:`~cnnviz.core.per_image.attribution.metrics.insertion_steps`,
:func:`~cnnviz.core.per_image.attribution.metrics.randomisation_steps`).

A method's parameters are settings named ``<method>_<parameter>`` (``smoothgrad_samples``), as the
Attribution pane names them; their defaults are the core's. Each map's caption entry (``map1``…) lists the
parameters it used, so those settings themselves stay out of the caption. :func:`run` takes the maps computed
before for the same model and input (``known``) and computes only what they lack, as the pane does when a setting
changes. A method that fails (a layer or setting it cannot work with, non-finite values) leaves a
:meth:`Map.failure` saying why in its place, and the other maps are computed.
"""

import dataclasses
import functools
import json
import math
import textwrap
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution import LAYER_METHODS, METHODS, REDUCTIONS, metrics
from cnnviz.core.per_image.attribution.cam import cam_layers
from cnnviz.core.per_image.attribution.integrated import BASELINES, RULES
from cnnviz.core.per_image.attribution.metrics import Curve, RandomisationStep
from cnnviz.core.per_image.attribution.smooth import BASES
from cnnviz.core.per_image.occlusion import FILLS
from cnnviz.core.progress import Cancelled
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text

NAME = "attribution"
MAX_MAPS = 4
"""Most maps compared at once."""
MODES = ("methods", "classes")
DISPLAYS = ("abs", "signed")
DEFAULT_METHODS = tuple(m for m in ("gradcam", "integrated_gradients", "smoothgrad", "gradient") if m in METHODS)
"""The methods compared by default (the pane's first choice)."""
ABS_COLORMAP = "inferno"
SIGNED_COLORMAP = "diverging"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e")
"""Each map's colour: its frame and its lines in the curves (as on screen)."""
METHOD_TITLES = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM", "layercam": "LayerCAM",
    "gradient": "Gradient", "guided": "Guided backprop", "deconvnet": "Deconvnet",
    "gradient_x_input": "Gradient × input", "occlusion": "Occlusion", "integrated_gradients": "Integrated gradients",
    "smoothgrad": "SmoothGrad",
}
"""Titles of the core's methods; one not listed is titled from its name."""
METRIC_COLUMNS = ("map", "method", "target", "class", "layer", "parameters", "deletion_auc", "insertion_auc",
                  "random_spearman", "random_ssim", "completeness_gap", "insensitive_to_weights")
"""The metrics table's columns (the randomisation cells are empty where the test was not run)."""
CURVE_COLUMNS = ("map", "method", "target", "curve", "x", "value", "layers")
PARTS = ("map", "deletion", "insertion", "randomisation")
"""What is computed of a map (the :class:`Map` field of each but the first), in the order :func:`run` computes them."""
FAILURE_CHARS = 120
"""Longest failure message in a caption field or a figure's cell, in characters (longer ones end in "…")."""
_CORE = {method: attribution.parameters(method) for method in METHODS}
"""Each method's parameters with the core's defaults."""


def method_title(method: str) -> str:
    """The title of ``method`` for figures and legends."""
    return METHOD_TITLES.get(method, method.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Settings(SettingsBase):
    """What to compare, each method's parameters (``<method>_<parameter>``), the curves and the display."""

    mode: str = setting("methods", label="Compare", choices=MODES,
                        help="methods: up to four methods for the target class; classes: one method for up to "
                             "four classes.")
    methods: tuple[str, ...] = setting(DEFAULT_METHODS, label="Methods", choices=METHODS,
                                       help="The methods compared in methods mode (one to four).")
    class_method: str = setting("gradcam" if "gradcam" in METHODS else METHODS[0], label="Method", choices=METHODS,
                                help="The method whose maps are compared across classes in classes mode.")
    classes: tuple[int, ...] = setting((), label="Classes", low=0,
                                       help="Output indices compared in classes mode (at most four); empty: the "
                                            "target and the next most probable classes.")
    layer: str = setting("", label="CAM layer", help="Layer of the CAM methods; empty: the last layer whose "
                         "output still has a grid larger than 1×1.")
    target: int | None = setting(None, label="Target class", low=0, none="the top-1 class",
                                 help="Class attributed in methods mode (and the first class in classes mode).")
    integrated_gradients_baseline: str = setting(
        _CORE["integrated_gradients"]["baseline"], label="IG baseline", choices=BASELINES, caption=False,
        help="Integrated gradients' reference input: black, the dataset mean, a blurred copy or noise.")
    integrated_gradients_blur_sigma: float | None = setting(
        _CORE["integrated_gradients"]["blur_sigma"], label="IG blur σ", unit="px", low=0, high=1e4, caption=False,
        none="a tenth of the shorter side", help="σ of the blurred baseline.")
    integrated_gradients_seed: int = setting(_CORE["integrated_gradients"]["seed"], label="IG seed", low=0,
                                             high=2**31 - 1, caption=False, help="Seed of the noise baseline.")
    integrated_gradients_steps: int = setting(_CORE["integrated_gradients"]["steps"], label="IG steps", low=1,
                                              high=1024, caption=False, help="Points on the path from the baseline.")
    integrated_gradients_rule: str = setting(_CORE["integrated_gradients"]["rule"], label="IG rule", choices=RULES,
                                             caption=False, help="How the path integral is summed (Captum's names).")
    integrated_gradients_reduce: str = setting(
        _CORE["integrated_gradients"]["reduce"], label="IG channels", choices=REDUCTIONS, caption=False,
        help="How the channels of the input attributions become one value per pixel.")
    smoothgrad_base: str = setting(_CORE["smoothgrad"]["base"], label="SmoothGrad over", choices=BASES,
                                   caption=False, help="The method averaged over the noisy copies.")
    smoothgrad_sigma: float = setting(_CORE["smoothgrad"]["sigma"], label="SmoothGrad σ", low=0, high=1,
                                      caption=False, help="Noise standard deviation as a share of the input range.")
    smoothgrad_samples: int = setting(_CORE["smoothgrad"]["samples"], label="SmoothGrad samples", low=1, high=1024,
                                      caption=False, help="Noisy copies averaged.")
    smoothgrad_squared: bool = setting(_CORE["smoothgrad"]["squared"], label="SmoothGrad²", caption=False,
                                       help="Average the squared attributions.")
    smoothgrad_seed: int = setting(_CORE["smoothgrad"]["seed"], label="SmoothGrad seed", low=0, high=2**31 - 1,
                                   caption=False, help="Seed of the noise.")
    smoothgrad_reduce: str | None = setting(
        _CORE["smoothgrad"]["reduce"], label="SmoothGrad channels", choices=REDUCTIONS, caption=False,
        none="abs_max, or sum for unsquared integrated gradients",
        help="How the channels of the input attributions become one value per pixel.")
    smoothgrad_steps: int = setting(_CORE["smoothgrad"]["steps"], label="SmoothGrad IG steps", low=1, high=1024,
                                    caption=False, help="Path points when averaging integrated gradients.")
    smoothgrad_baseline: str = setting(_CORE["smoothgrad"]["baseline"], label="SmoothGrad IG baseline",
                                       choices=BASELINES, caption=False,
                                       help="Baseline when averaging integrated gradients.")
    smoothgrad_rule: str = setting(_CORE["smoothgrad"]["rule"], label="SmoothGrad IG rule", choices=RULES,
                                   caption=False, help="Path rule when averaging integrated gradients.")
    gradient_reduce: str = setting(_CORE["gradient"]["reduce"], label="Gradient channels", choices=REDUCTIONS,
                                   caption=False, help="How the gradient's channels become one value per pixel.")
    guided_reduce: str = setting(_CORE["guided"]["reduce"], label="Guided channels", choices=REDUCTIONS,
                                 caption=False, help="How the guided gradient's channels become one value per pixel.")
    deconvnet_reduce: str = setting(_CORE["deconvnet"]["reduce"], label="Deconvnet channels", choices=REDUCTIONS,
                                    caption=False, help="How the deconvnet signal's channels become one value per "
                                                        "pixel.")
    gradient_x_input_reduce: str = setting(_CORE["gradient_x_input"]["reduce"], label="Gradient × input channels",
                                           choices=REDUCTIONS, caption=False,
                                           help="How the channels become one value per pixel.")
    occlusion_window: int | None = setting(_CORE["occlusion"]["window"], label="Occluder", unit="px", low=1,
                                           high=4096, caption=False, none="the Occlusion pane's default",
                                           help="Occluder side in input pixels.")
    occlusion_stride: int | None = setting(_CORE["occlusion"]["stride"], label="Occluder stride", unit="px", low=1,
                                           high=4096, caption=False, none="from the window",
                                           help="Step between occluder positions in input pixels.")
    occlusion_fill: str = setting(_CORE["occlusion"]["fill"], label="Occluder fill", choices=FILLS, caption=False,
                                  help="What covers the occluded square.")
    occlusion_seed: int = setting(_CORE["occlusion"]["seed"], label="Occluder seed", low=0, high=2**31 - 1,
                                  caption=False, help="Seed of the noise fill.")
    curves: bool = setting(True, label="Curves", help="Compute each map's deletion and insertion curves and their "
                           "areas (Petsiuk et al. 2018).")
    randomisation: bool = setting(False, label="Randomisation (slow)",
                                  help="Re-initialise the layers from the top on a copy of the model and compare "
                                       "each map with the original (Adebayo et al. 2018).")
    display: str = setting("abs", label="Show", choices=DISPLAYS,
                           help="abs: |map| from 0; signed: the map around 0 (evidence against the class below "
                                "the colormap's centre).")
    colormap: str | None = setting(None, label="Colormap", choices=tuple(figures.COLORMAPS), caption=False,
                                   none="inferno for abs, diverging for signed", help="Colormap of the maps.")
    opacity: int = setting(60, label="Opacity", unit="%", low=0, high=100, caption=False,
                           help="Opacity of the maps over the input.")

    def check(self) -> None:
        """At most four methods or classes, none twice; at least one method in methods mode."""
        if self.mode == "methods" and not self.methods:
            raise ValueError(f"methods: none given; pick one to four of {', '.join(METHODS)}")
        for name in ("methods", "classes"):
            values = getattr(self, name)
            if len(values) > MAX_MAPS:
                raise ValueError(f"{name}: {len(values)} given; at most {MAX_MAPS}")
            if len(set(values)) < len(values):
                raise ValueError(f"{name}: {', '.join(map(str, values))} names one twice; give each once")

    def parameters(self, method: str) -> dict[str, Any]:
        """The core parameters of ``method`` these settings hold (``<method>_<parameter>``); the others (the
        batch size) are left to the core."""
        return {name: getattr(self, f"{method}_{name}") for name in _CORE[method] if hasattr(self, f"{method}_{name}")}


@dataclass(frozen=True)
class Map:
    """One computed map: ``method`` for class ``target`` on CAM ``layer`` (None for a pixel method) with the
    ``params`` it used. ``values`` [H, W] float32 at the input's resolution; ``raw`` the method's own output
    ([h, w] at the layer's resolution for CAMs, [C, H, W] for pixel methods). ``completeness_gap``: integrated
    gradients' relative gap (None for other methods); ``unhandled``: nonlinearities a guided or deconvnet pass
    has no rule for. ``deletion``/``insertion``: its curves (None when not computed); ``randomisation``: the
    randomisation test's records, the loaded model first, then one per group of layers re-initialised (None when
    not run). ``key``: what :func:`run` was asked for (:func:`map_key`; equal keys give equal maps). ``error``: why
    the method failed (:meth:`failure`: ``values`` and ``raw`` then empty, no curves), "" for a computed map."""

    method: str
    target: int
    layer: str | None
    params: dict[str, Any]
    values: np.ndarray
    raw: np.ndarray
    completeness_gap: float | None = None
    unhandled: tuple[str, ...] = ()
    deletion: Curve | None = None
    insertion: Curve | None = None
    randomisation: tuple[RandomisationStep, ...] | None = None
    key: tuple[Any, ...] = ()
    error: str = ""

    @classmethod
    def of(cls, result: attribution.Attribution) -> "Map":
        """The map of the core's ``result``, as numpy arrays."""
        return cls(result.method, result.target, result.layer, dict(result.params), result.map.numpy(),
                   result.raw.numpy(), result.completeness_gap, tuple(result.unhandled))

    @classmethod
    def failure(cls, key: tuple[Any, ...], error: str) -> "Map":
        """The map asked for by ``key`` (:func:`map_key`) whose method failed with the message ``error``: no values
        ([0, 0] and [0] arrays), no curves."""
        method, target, layer, params = key
        return cls(method, target, layer, dict(params), np.zeros((0, 0), np.float32), np.zeros(0, np.float32),
                   key=key, error=error)

    @property
    def failed(self) -> bool:
        """True when the method failed (:attr:`error` says why)."""
        return bool(self.error)

    def described(self) -> str:
        """The method, its layer and parameters, e.g. ``"gradcam on features.pool3"``."""
        params = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return self.method + (f" on {self.layer}" if self.layer else "") + (f" ({params})" if params else "")

    @property
    def final_record(self) -> RandomisationStep | None:
        """The randomisation record with every layer re-initialised (the last); None before the test ran or when
        the model had nothing to re-initialise."""
        records = self.randomisation
        return records[-1] if records and records[-1].layers else None

    @property
    def insensitive(self) -> bool | None:
        """True when the map barely changes with every layer re-initialised
        (:func:`cnnviz.core.per_image.attribution.metrics.insensitive`); None before the test ran."""
        return None if self.final_record is None or self.randomisation is None else metrics.insensitive(
            self.randomisation)


def map_key(method: str, target: int, layer: str | None, params: dict[str, Any]) -> tuple[Any, ...]:
    """What a map is asked for: ``method`` for class ``target`` on CAM ``layer`` (None for a pixel method) with the
    core ``params``, as a hashable tuple (parameters sorted by name)."""
    return method, target, layer, tuple(sorted(params.items()))


@dataclass(frozen=True, kw_only=True)
class AttributionAnalysis(Result):
    """The ``maps`` computed (in order; fewer than ``planned`` while partial), ``planned``: (method, target) of
    every map asked for, the CAM ``layer`` (None when no CAM is shown), the input as shown (``image``: [H, W] or
    [H, W, 3] uint8), its class ``probabilities`` [classes] in [0, 1] and the model's class names. A map whose method
    failed (:attr:`Map.failed`) keeps its place among the ``maps`` but has no arrays, rows or curves."""

    analysis: ClassVar[str] = NAME
    maps: tuple[Map, ...]
    planned: tuple[tuple[str, int], ...]
    layer: str | None
    image: np.ndarray
    probabilities: np.ndarray
    classes: tuple[str, ...] = ()

    def arrays(self) -> dict[str, np.ndarray]:
        """Each map [H, W] as ``<n>-<method>-class<target>`` (``+`` written ``plus``, as the pane names them; ``n``
        its place among the maps, failed ones skipped) and its raw output as ``<n>-<method>-class<target>-raw``."""
        found: dict[str, np.ndarray] = {}
        for number, item in self._computed():
            stem = f"{number}-{item.method.replace('+', 'plus')}-class{item.target}"
            found[stem] = item.values
            found[f"{stem}-raw"] = item.raw
        return found

    def tables(self) -> dict[str, str]:
        """``metrics`` (one row per computed map) and ``curves`` (one row per point of every curve); none while no
        map is computed."""
        if not self._computed():
            return {}
        return {"metrics": self._metrics(), "curves": self._curves()}

    def _computed(self) -> list[tuple[int, Map]]:
        """(number from 1, map) of every map whose method did not fail."""
        return [(number, m) for number, m in enumerate(self.maps, 1) if not m.failed]

    def failures(self) -> list[str]:
        """One line per map whose method failed: ``map 2 (occlusion) failed: <why>``."""
        return [f"map {number} ({m.method}) failed: {m.error}" for number, m in enumerate(self.maps, 1) if m.failed]

    def _metrics(self) -> str:
        rows = []
        for number, m in self._computed():
            record = m.final_record
            rows.append([number, m.method, m.target, self.class_name(m.target), m.layer or "",
                         json.dumps(m.params, sort_keys=True, default=str), _auc(m.deletion), _auc(m.insertion),
                         "" if record is None else float(record.spearman), "" if record is None else float(record.ssim),
                         "" if m.completeness_gap is None else float(m.completeness_gap),
                         "" if m.insensitive is None else str(m.insensitive).lower()])
        return csv_text(METRIC_COLUMNS, rows)

    def _curves(self) -> str:
        """Deletion and insertion (x: share of pixels changed, value: target probability), then randomisation
        (x: step, 0 for the loaded model; value: Spearman ρ or SSIM with the original map; the layers
        re-initialised so far)."""
        rows: list[list[Any]] = [[number, m.method, m.target, curve.kind, float(x), float(p), ""]
                                 for number, m in self._computed() for curve in (m.deletion, m.insertion)
                                 if curve is not None for x, p in zip(curve.fractions, curve.probabilities)]
        rows += [[number, m.method, m.target, f"randomisation_{name}", step, float(getattr(record, name)),
                  " ".join(record.layers)]
                 for number, m in self._computed() for step, record in enumerate(m.randomisation or ())
                 for name in ("spearman", "ssim")]
        return csv_text(CURVE_COLUMNS, rows)

    def resolved(self) -> dict[str, Any]:
        """The target and its name (methods mode) or the classes compared and their names (classes mode), the
        CAM layer used, each map's method, layer and parameters (``map1``…) and, for a map whose method failed, the
        method and why (``failed2``: ``occlusion: <why>``, shortened to :data:`FAILURE_CHARS`)."""
        targets = list(dict.fromkeys(target for _method, target in self.planned))
        if self.settings.mode == "methods":  # type: ignore[attr-defined]
            fields: dict[str, Any] = {"target": targets[0], "target_name": self.class_name(targets[0])}
        else:
            fields = {"classes": targets, "class_names": [self.class_name(t) for t in targets]}
        if self.layer:
            fields["layer"] = self.layer
        fields |= {f"map{number}": m.described() for number, m in enumerate(self.maps, 1)}
        return fields | {f"failed{number}": f"{m.method}: {_short(m.error, FAILURE_CHARS)}"
                         for number, m in enumerate(self.maps, 1) if m.failed}

    def class_name(self, index: int) -> str:
        """The name of class ``index``."""
        return self.classes[index] if 0 <= index < len(self.classes) else f"class {index}"


def _auc(curve: Curve | None) -> float | str:
    return "" if curve is None else float(curve.auc)


def defaults(model: LoadedModel) -> Settings:
    """The settings with the model's default CAM layer."""
    return Settings(layer=attribution.default_layer(model))


def _checked_class(index: int, count: int, name: str) -> int:
    if index >= count:
        raise ValueError(f"{name}: {index} is not a class of this model; classes run from 0 to {count - 1}")
    return index


def planned_maps(settings: Settings, probabilities: np.ndarray) -> list[tuple[str, int]]:
    """(method, target class) of each map ``settings`` ask for, given the input's class ``probabilities``
    [classes]: the methods for the target (methods mode), or the class method for the classes picked, else
    for the target and the next most probable classes (classes mode)."""
    count = len(probabilities)
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    target = order[0] if settings.target is None else _checked_class(settings.target, count, "target")
    if settings.mode == "methods":
        return [(method, target) for method in settings.methods]
    classes = [_checked_class(c, count, "classes") for c in settings.classes]
    classes = classes or [target, *(i for i in order if i != target)][:MAX_MAPS]
    return [(settings.class_method, c) for c in classes]


def cam_layer(model: LoadedModel, settings: Settings, methods: list[str]) -> str | None:
    """The CAM layer: ``settings.layer`` checked against the layers a CAM can use, or the core's default;
    None when no CAM method is among ``methods`` (a given layer is checked even then)."""
    if settings.layer:
        usable = cam_layers(model)
        if settings.layer not in usable:
            raise ValueError(f"layer: {settings.layer!r} is not a layer a CAM can use; layers: {', '.join(usable)}")
    if not any(m in LAYER_METHODS for m in methods):
        return None
    return settings.layer or attribution.default_layer(model)


def _drive(steps: Generator[Any, None, Any], done: int, total: int, partial: Callable[[], AttributionAnalysis],
           message: str) -> Generator[Step, None, Any]:
    """Run the core generator ``steps`` to its end, yielding a :class:`Step` after each of its steps; closing
    this closes it."""
    try:
        while True:
            next(steps)
            yield Step(done, total, partial(), message)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()


def wanted_parts(settings: Settings) -> tuple[str, ...]:
    """What ``settings`` ask for of each map, in the order :func:`run` computes them (a subsequence of
    :data:`PARTS`)."""
    return ("map",) + (("deletion", "insertion") if settings.curves else ()) + (
        ("randomisation",) if settings.randomisation else ())


def _trimmed(item: Map, parts: tuple[str, ...]) -> Map:
    """``item`` without the parts that are not among ``parts``."""
    dropped: dict[str, Any] = {part: None for part in PARTS[1:]
                               if part not in parts and getattr(item, part) is not None}
    return dataclasses.replace(item, **dropped) if dropped else item


def _has(item: Map | None, part: str) -> bool:
    """True when ``part`` of ``item`` needs no computing: it is computed, or the map's method failed."""
    return item is not None and (part == "map" or item.failed or getattr(item, part) is not None)


def _reason(error: Exception) -> str:
    """Why a method failed, in one line: the first line of ``error``'s message, else its type's name."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _made_map(value: attribution.Attribution, key: tuple[Any, ...]) -> Map:
    """The map of the core's ``value`` for ``key``, or a :meth:`Map.failure` when its values are not all finite."""
    item = dataclasses.replace(Map.of(value), key=key)
    if not np.isfinite(item.values).all():
        return Map.failure(key, "its map holds NaN or infinite values")
    return item


def _part_steps(model: LoadedModel, x: Any, settings: Settings, part: str, key: tuple[Any, ...],
                item: Map | None) -> Generator[Any, None, Any]:
    """The core generator computing ``part`` of the map asked for by ``key`` (:func:`map_key`; ``item``: the map,
    for its curves)."""
    method, target, layer, _params = key
    if part == "map":
        return attribution.attribute_steps(model, x, method=method, target=target, layer=layer,
                                           **settings.parameters(method))
    if part == "randomisation":
        return metrics.randomisation_steps(model, x, method=method, target=target, layer=layer,
                                           **settings.parameters(method))
    assert item is not None  # every map is computed before any other part
    steps = metrics.deletion_steps if part == "deletion" else metrics.insertion_steps
    return steps(model, x, item.values, target=item.target)


def _map_or_failure(steps: Callable[[], Generator[Any, None, Any]], key: tuple[Any, ...], progress: tuple[int, int],
                    partial: Callable[[], AttributionAnalysis], message: str) -> Generator[Step, None, Map]:
    """The map asked for by ``key``, computed by the core generator ``steps()`` (driven as :func:`_drive`, at
    ``progress``: parts done, parts in all), or its :meth:`Map.failure` when the method raises (a cancel, a closed
    generator and Ctrl-C still end the run) or gives non-finite values."""
    try:
        value = yield from _drive(steps(), *progress, partial, message)
    except Cancelled:
        raise
    except Exception as error:  # one method failing (a layer it cannot use, memory) leaves the others
        return Map.failure(key, _reason(error))
    return _made_map(value, key)


def _message(part: str, method: str, number: int) -> str:
    if part == "map":
        return f"{method} map"
    return f"{part} curve of map {number}" if part != "randomisation" else f"randomisation test of map {number}"


def run(model: LoadedModel, source: Source, settings: Settings | None = None, *, known: Iterable[Map] = ()
        ) -> Generator[Step, None, AttributionAnalysis]:
    """Every map, then (with ``curves``) every map's deletion and insertion curve, then (with ``randomisation``)
    every map's randomisation test; yields a :class:`Step` (``done`` of ``total`` parts) with the partial result
    after each step of the core. ``known``: maps computed before on this model and input; a planned map with the
    :attr:`Map.key` of one of them is taken from it with the parts it holds (those not asked for dropped), and
    only what it lacks is computed. A method that raises (other than :class:`~cnnviz.core.progress.Cancelled`) or
    gives non-finite values makes its map a :meth:`Map.failure` with no curves; the other maps go on."""
    settings = settings or Settings()
    x = source.input()
    probabilities = model.probabilities(x)[0].detach().cpu().numpy()
    planned = planned_maps(settings, probabilities)
    layer = cam_layer(model, settings, [method for method, _target in planned])
    keys = [map_key(method, target, layer if method in LAYER_METHODS else None, settings.parameters(method))
            for method, target in planned]
    head = about(NAME, model, source)
    image = np.asarray(model.deprocess(x))
    parts = wanted_parts(settings)
    reuse = {item.key: item for item in known if item.key}
    done = {index: _trimmed(reuse[key], parts) for index, key in enumerate(keys) if key in reuse}

    def result(partial: bool = True) -> AttributionAnalysis:
        return AttributionAnalysis(settings=settings, head=head, partial=partial,
                                   maps=tuple(done[index] for index in sorted(done)), planned=tuple(planned),
                                   layer=layer, image=image, probabilities=probabilities,
                                   classes=tuple(model.categories))

    total = len(planned) * len(parts)
    finished = sum(_has(done.get(index), part) for part in parts for index in range(len(planned)))
    for part in parts:
        for index, key in enumerate(keys):
            item = done.get(index)
            if _has(item, part):
                continue
            message = _message(part, key[0], index + 1)
            steps = functools.partial(_part_steps, model, x, settings, part, key, item)
            if part == "map":
                done[index] = yield from _map_or_failure(steps, key, (finished, total), result, message)
            else:
                value = yield from _drive(steps(), finished, total, result, message)
                assert item is not None
                changes: dict[str, Any] = {part: tuple(value) if part == "randomisation" else value}
                done[index] = dataclasses.replace(item, **changes)
            finished += len(parts) if done[index].failed else 1  # a failed map's other parts are not computed
            yield Step(finished, total, result(), message)
    return result(partial=False)


# The figure.


def shown_values(values: np.ndarray, display: str) -> tuple[np.ndarray, float, float]:
    """A map [H, W] as drawn and its colour range: ``"abs"`` |map| over (0, m), ``"signed"`` the map over
    (−m, m), m = max |map| (1 for an all-zero map)."""
    peak = float(np.abs(values).max()) if values.size else 0.0
    peak = peak if peak > 0 else 1.0
    if display == "signed":
        return values, -peak, peak
    return np.abs(values), 0.0, peak


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _label(result: AttributionAnalysis, item: Map) -> str:
    """A map's name in the legend: its method (methods mode) or its class (classes mode)."""
    if result.settings.mode == "methods":  # type: ignore[attr-defined]
        return method_title(item.method)
    return f"{_short(result.class_name(item.target), 18)} ({item.target})"


def _title(result: AttributionAnalysis, item: Map) -> str:
    """A map's title: its method, and its class in classes mode."""
    if result.settings.mode == "methods":  # type: ignore[attr-defined]
        return method_title(item.method)
    return f"{method_title(item.method)}\n{_label(result, item)}"


def _value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value).replace("_", " ")


def _detail(result: AttributionAnalysis, item: Map, chars: int) -> str:
    """The text under a map: its layer or parameters, p(class) in classes mode, IG's gap, the AUCs and the rank
    correlation with every layer re-initialised ("rand. ρ"; ⚠ where the map barely changes), wrapped to ``chars``
    characters."""
    parts = [item.layer] if item.layer else []
    parts += [name if value is True else f"{name}={_value(value)}" for name, value in item.params.items()
              if value is not False]
    if result.settings.mode == "classes":  # type: ignore[attr-defined]
        parts.insert(0, f"p={float(result.probabilities[item.target]):.3f}")
    if item.completeness_gap is not None:
        parts.append(f"gap {item.completeness_gap:.1%}")
    aucs = [f"{name} AUC {curve.auc:.3f}" for name, curve in (("del.", item.deletion), ("ins.", item.insertion))
            if curve is not None]
    record = item.final_record
    if record is not None:
        aucs.append(f"rand. ρ {float(record.spearman):.3f}" + (" ⚠" if item.insensitive else ""))
    return "\n".join(_wrap(parts, chars) + _wrap(aucs, chars))


def _wrap(items: list[str], chars: int) -> list[str]:
    """``items`` joined by commas into lines of at most ``chars`` characters, an item split only where it alone
    is longer."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= chars:
            lines[-1] += f", {item}"
        else:
            if lines:
                lines[-1] += ","
            lines += textwrap.wrap(item, chars) or [item]
    return lines


def _map_panel(fig: Figure, ax: Axes, result: AttributionAnalysis, item: Map, colour: str, chars: int) -> None:
    settings = result.settings
    values, low, high = shown_values(item.values, settings.display)  # type: ignore[attr-defined]
    key = settings.colormap or (SIGNED_COLORMAP if settings.display == "signed" else ABS_COLORMAP)  # type: ignore
    cmap = figures.colormap(key)
    figures.show_image(ax, result.image, _title(result, item))
    ax.imshow(values, cmap=cmap, vmin=low, vmax=high, alpha=settings.opacity / 100,  # type: ignore[attr-defined]
              interpolation="nearest")
    for spine in ax.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(1.5)
    figures.colorbar(fig, ax, ScalarMappable(Normalize(low, high), cmap))
    ax.set_xlabel(_detail(result, item, chars), fontsize=figures.MIN_FONT_PT, linespacing=1.15)


def _failed_panel(ax: Axes, result: AttributionAnalysis, item: Map, colour: str, chars: int) -> None:
    """A failed map's cell: its title over a blank box the input's shape holding why the method failed (wrapped to
    ``chars`` characters, shortened to :data:`FAILURE_CHARS` and to the lines the box holds), its parameters under
    it."""
    height, width = result.image.shape[:2]
    ax.imshow(np.ones((height, width)), cmap="gray", vmin=0.0, vmax=1.06, interpolation="nearest")
    figures.plain(ax, _title(result, item))
    for spine in ax.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(1.5)
    fits = max(2, int(chars * 0.6 * height / width / (1.15 * 1.25)))  # lines in a box about ``chars`` wide
    lines = textwrap.wrap(f"Failed: {_short(item.error, FAILURE_CHARS)}", chars)
    message = "\n".join(lines if len(lines) <= fits else [*lines[:fits - 1], _short(lines[fits - 1] + " …", chars)])
    text = ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
                   fontsize=figures.MIN_FONT_PT, color="#8b1a1a", linespacing=1.15)
    text.set_in_layout(False)  # wrapped to fit inside the box, which the layout sizes as a map's
    ax.set_xlabel(_detail(result, item, chars), fontsize=figures.MIN_FONT_PT, linespacing=1.15)


def _curve_plot(ax: Axes, result: AttributionAnalysis, kind: str, narrow: bool) -> None:
    for index, item in enumerate(result.maps):
        curve = getattr(item, kind)
        if curve is not None:
            ax.plot(curve.fractions, curve.probabilities, color=COLOURS[index % len(COLOURS)],
                    label=_label(result, item))
    verb = "removed" if kind == "deletion" else "inserted"
    better = "lower" if kind == "deletion" else "higher"
    gap = "\n" if narrow else " "
    ax.set_title(f"{kind.capitalize()}{gap}({better} area: better)", fontsize=figures.FONT_PT)
    ax.set_xlabel(f"share of pixels{gap}{verb}")
    ax.set_ylabel("p(target)")
    ticks = np.linspace(0, 1, 3 if narrow else 6)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(True, linewidth=0.4, alpha=0.4)
    ax.set_box_aspect(0.6)


def _balance_rows(fig: Figure, grid: Any, rows: list[Axes]) -> None:
    """Set the height ratios of ``grid`` (one axes of each row given) to each row's height in inches: an image
    or a plot with a box aspect as tall as it is at its cells' full width, an axes without axis (a legend's)
    as tall as its legend; :func:`figures.finish`, fitting the figure's height, then leaves no row blank."""
    fig.draw_without_rendering()
    heights = []
    for ax in rows:
        cell, box = ax.get_position(original=True), ax.get_position()
        if ax.axison:
            heights.append(cell.width * box.height * fig.get_figheight() / max(box.width, 1e-6))
        else:
            legend = ax.get_legend()
            heights.append((legend.get_window_extent().height / fig.dpi if legend is not None else 0.0) + 0.02)
    grid.set_height_ratios(heights)


def figure(result: AttributionAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: each map over the input (one row; two per row at one-column width) titled with its
    method (methods mode) or class (classes mode), its parameters and AUCs under it and a colour bar beside it (a
    failed map: why, in a blank box); below, the deletion and insertion curves, one line per map in the colour of
    the map's frame, and their legend; the caption."""
    count = max(len(result.planned), 1)
    has_curves = any(m.deletion is not None or m.insertion is not None for m in result.maps)
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=1.0)
        narrow = fig.get_figwidth() < figures.NARROW_IN
        per_row = min(count, 2 if narrow else MAX_MAPS)
        map_rows = math.ceil(count / per_row)
        units = math.lcm(per_row, 2) if has_curves else per_row
        width = fig.get_figwidth() / per_row
        fig.set_figheight(map_rows * (width + 1.2) + (fig.get_figwidth() * 0.35 + 1.2 if has_curves else 0.0))
        grid = fig.add_gridspec(map_rows + 2 * int(has_curves), units)
        span = units // per_row
        chars = max(14, int((width - 0.65) * 72 / (figures.MIN_FONT_PT * 0.6)))
        rows = []
        for index in range(map_rows * per_row):
            row, column = divmod(index, per_row)
            ax = fig.add_subplot(grid[row, column * span:(column + 1) * span])
            if index < len(result.maps) and result.maps[index].failed:
                _failed_panel(ax, result, result.maps[index], COLOURS[index % len(COLOURS)], chars)
            elif index < len(result.maps):
                _map_panel(fig, ax, result, result.maps[index], COLOURS[index % len(COLOURS)], chars)
            else:
                figures.plain(ax, "computing…" if index < len(result.planned) else "")
                ax.axis("off")
            if column == 0:
                rows.append(ax)
        if has_curves:
            half = units // 2
            curves = [fig.add_subplot(grid[map_rows, :half]), fig.add_subplot(grid[map_rows, half:])]
            for ax, kind in zip(curves, ("deletion", "insertion")):
                _curve_plot(ax, result, kind, narrow)
            curves[1].set_ylabel("")
            legend = fig.add_subplot(grid[map_rows + 1, :])
            legend.axis("off")
            legend.legend(*curves[0].get_legend_handles_labels(), loc="center", ncols=2 if narrow else MAX_MAPS,
                          handlelength=1.2, borderaxespad=0.0)
            rows += [curves[0], legend]
        _balance_rows(fig, grid, rows)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "attribution maps compared across methods or classes, with deletion/insertion curves",
                    Settings, run, figure, defaults=defaults)
