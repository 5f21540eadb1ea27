"""The model randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps").

The weights of a copy of the model are re-initialised cumulatively from the top (the output end),
one group of layers at a time, and the attribution map is recomputed after each group. A map that
explains the model should change as its weights are destroyed; one that stays alike (high rank
correlation with the original map) shows the method mostly reflects the input, not the model.

Default groups: every module with its own parameters, in reverse order of the forward pass; a
normalisation layer (BatchNorm, GroupNorm, LayerNorm, InstanceNorm) is re-initialised in one step
with the layer that the forward pass runs just before it (its convolution), so a step is one
conv + norm. Re-initialising calls the module's ``reset_parameters()`` (PyTorch's own initialiser,
running statistics reset too) under a seeded generator; a module without one has each own
parameter redrawn from a normal distribution with that parameter's mean and standard deviation.
The loaded model is never changed: everything happens on a deep copy.
"""

import copy
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.batching import check_layer
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.attribution.cam import default_layer
from cnnviz.core.per_image.attribution.common import resolve_target
from cnnviz.core.per_image.attribution.methods import LAYER_METHODS, attribute_steps
from cnnviz.core.per_image.attribution.similarity import spearman, ssim, unit_scaled
from cnnviz.core.progress import ProgressFn, Step, run_to_end

_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True, eq=False)
class RandomisationStep:
    """One step of the randomisation test: the map after re-initialising ``layers`` (every group so
    far, top first; empty for the original model) and how alike it is to the original map.

    ``spearman``: rank correlation of the two maps' values (signed, as the method gives them);
    ``spearman_abs``: the same on their absolute values (Adebayo et al. report both); ``ssim``: the
    structural similarity of the two maps each scaled to [0, 1]; ``map``: [H, W] float32 on the CPU.
    """

    layers: tuple[str, ...]
    spearman: float
    spearman_abs: float
    ssim: float
    map: torch.Tensor


def _resettable(module: nn.Module) -> bool:
    own_parameters = any(True for _ in module.parameters(recurse=False))
    own_buffers = any(True for _ in module.buffers(recurse=False))
    return own_parameters or (own_buffers and hasattr(module, "reset_parameters"))


def default_groups(model: LoadedModel) -> list[tuple[str, ...]]:
    """The modules re-initialised together at each step, top first (see the module docstring)."""
    modules = dict(model.module.named_modules())
    groups: list[tuple[str, ...]] = []
    for name in model.layer_names():
        if not _resettable(modules[name]):
            continue
        if isinstance(modules[name], _NORMS) and groups:
            groups[-1] += (name,)
        else:
            groups.append((name,))
    return groups[::-1]


def _groups(model: LoadedModel, groups: Sequence[str | Sequence[str]] | None) -> list[tuple[str, ...]]:
    if groups is None:
        found = default_groups(model)
        if not found:
            raise ValueError(f"{model.display_name} has no layer with parameters to re-initialise")
        return found
    chosen = [(group,) if isinstance(group, str) else tuple(group) for group in groups]
    if not chosen or not all(chosen):
        raise ValueError("groups must list at least one layer name per step")
    for group in chosen:
        for name in group:
            check_layer(model, name, "the randomisation test")
    return chosen


def _reinitialise(module: nn.Module) -> None:
    for sub in module.modules():
        if not _resettable(sub):
            continue
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()
            continue
        for parameter in sub.parameters(recurse=False):
            spread = float(parameter.std()) if parameter.numel() > 1 else 0.0
            parameter.normal_(float(parameter.mean()), spread)


def reinitialise(model: LoadedModel, names: Sequence[str], seed: int) -> None:
    """Re-initialise the named modules of ``model`` (and their submodules) in place, seeded by
    ``seed``; the global random state (CPU and the model's CUDA device) is left as it was."""
    device = model.device
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    modules = dict(model.module.named_modules())
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(cuda[0]):
                torch.cuda.manual_seed(seed)
        for name in names:
            _reinitialise(modules[name])


def _map(model: LoadedModel, x: torch.Tensor, method: str, target: int, layer: str | None, params: dict[str, Any],
         progress: Step) -> Generator[Step, None, torch.Tensor]:
    """The method's map on ``model``, yielding ``progress`` between the method's own steps."""
    steps = attribute_steps(model, x, method=method, target=target, layer=layer, **params)
    try:
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value.map
            yield progress
    finally:
        steps.close()


def _record(layers: tuple[str, ...], original: torch.Tensor, current: torch.Tensor) -> RandomisationStep:
    return RandomisationStep(layers, spearman(original, current), spearman(original.abs(), current.abs()),
                             ssim(unit_scaled(original), unit_scaled(current)), current)


def randomisation_steps(model: LoadedModel, x: torch.Tensor, *, method: str, target: int | None = None,
                        layer: str | None = None, groups: Sequence[str | Sequence[str]] | None = None,
                        init_seed: int = 0,
                        **params: Any) -> Generator[Step, None, list[RandomisationStep]]:
    """:func:`randomisation` as a generator of :class:`~cnnviz.core.progress.Step` (maps ``done`` of
    ``total``, ``partial``: the tuple of :class:`RandomisationStep` records so far; also between the
    batches of a long method); closing it cancels. Returns the list of records."""
    x = one_image(x, "the randomisation test")
    target = resolve_target(model, x, target)
    if method in LAYER_METHODS:
        layer = layer or default_layer(model)
    plan = _groups(model, groups)
    total = len(plan) + 1
    work = replace(model, module=copy.deepcopy(model.module), cache={})
    records: list[RandomisationStep] = []
    original = yield from _map(work, x, method, target, layer, params, Step(0, total, ()))
    records.append(_record((), original, original))
    yield Step(1, total, tuple(records))
    layers: tuple[str, ...] = ()
    for index, group in enumerate(plan, start=1):
        reinitialise(work, group, init_seed + index)
        layers += group
        current = yield from _map(work, x, method, target, layer, params,
                                  Step(index, total, tuple(records)))
        records.append(_record(layers, original, current))
        yield Step(index + 1, total, tuple(records))
    return records


def randomisation(model: LoadedModel, x: torch.Tensor, *, method: str, target: int | None = None,
                  layer: str | None = None, groups: Sequence[str | Sequence[str]] | None = None,
                  init_seed: int = 0, progress: ProgressFn | None = None, **params: Any) -> list[RandomisationStep]:
    """Cascading model randomisation test of ``method`` on preprocessed input ``x`` [1, C, H, W].

    ``target``: the class, resolved once on the loaded model (None: its most probable class) and
    kept for every step; ``layer``: the CAM layer (None: the default one); ``params``: the method's
    own parameters (a method's ``seed`` among them; the re-initialisation has ``init_seed``).
    ``groups``: what is re-initialised at each step, top first: layer names (a
    module and everything in it) or tuples of names (None: :func:`default_groups`); step i is
    seeded with ``init_seed + i``. Returns one :class:`RandomisationStep` for the original model
    (``layers`` empty, ``spearman`` 1) and one per group, cumulatively. ``progress(done, total)``
    counts maps; returning False cancels (:class:`~cnnviz.core.Cancelled`). The loaded model is
    not changed (the work is done on a deep copy).
    """
    steps = randomisation_steps(model, x, method=method, target=target, layer=layer, groups=groups, init_seed=init_seed,
                                **params)
    return run_to_end(steps, progress)


def insensitive(records: Sequence[RandomisationStep], threshold: float = 0.5) -> bool:
    """True when the method's map barely changed although its weights were destroyed: the last
    record's ``spearman`` (every group re-initialised) is above ``threshold``."""
    if not records or not records[-1].layers:
        raise ValueError("the randomisation records have no step with re-initialised layers")
    return records[-1].spearman > threshold
