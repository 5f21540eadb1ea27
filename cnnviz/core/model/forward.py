"""Running a model's forward pass to chosen layers: the one place in cnnviz that does it.

:func:`forward_to` hooks the named layers, runs the model once and returns their outputs, copied so
that later in-place operations (an in-place ReLU after a convolution) do not change them. It can end
the pass as soon as every layer has produced its output (``stop_early``), keep the autograd graph for
a backward pass (``keep_graph``) and, on a pass that runs to the end, record no graph after the
layers (``detach_rest``), so the class scores come almost for free on top of a layer objective.
Hooks are removed when it returns, raises or is interrupted.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnviz.core.model.hooks import HookSet, eval_and_frozen
from cnnviz.core.model.loaded_model import LoadedModel, output_logits


@dataclass(frozen=True)
class LayerOutputs:
    """What one forward pass gave: ``outputs`` of the asked layers (name -> tensor with the batch
    axis, in the order asked; a layer called several times keeps its last call's output) and the
    model's class scores ``logits`` [N, classes] (None when the pass was stopped early)."""

    outputs: dict[str, torch.Tensor]
    logits: torch.Tensor | None

    def __getitem__(self, layer: str) -> torch.Tensor:
        return self.outputs[layer]


class _StopForward(Exception):
    """Raised inside a hook to end a forward pass once every requested layer has been seen."""


def first_tensor(output: Any) -> torch.Tensor | None:
    """The first tensor in a module output (a tensor, or nested tuples, lists and dicts)."""
    return next(iter(tensors_in(output)), None)


def tensors_in(value: Any) -> Iterable[torch.Tensor]:
    """Every tensor in ``value`` (a tensor, or nested tuples, lists and dicts), depth first."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def _scores(output: Any) -> torch.Tensor | None:
    try:
        return output_logits(output)
    except TypeError:
        return None


def _modules_named(model: LoadedModel, names: list[str]) -> dict[str, nn.Module]:
    """Every submodule of the model by name; KeyError naming those of ``names`` it does not have."""
    modules = dict(model.module.named_modules())
    missing = [n for n in names if not n or n not in modules]
    if missing:
        raise KeyError(f"no layer called {', '.join(map(repr, missing))} in {model.name}")
    return modules


def forward_to(model: LoadedModel, x: torch.Tensor, *, layers: str | Sequence[str],
               stop_early: bool = True, keep_graph: bool = False, detach_rest: bool = False,
               reduce: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
               grads_to_outputs: bool = False) -> LayerOutputs:
    """Outputs of ``layers`` (one name or several) for input ``x`` [N, C, H, W], in one forward pass.

    ``stop_early`` ends the pass once every layer has run once (then ``logits`` is None; for a module called
    several times pass False to get its last call). ``keep_graph`` runs with autograd on and keeps each
    output's graph (for a backward pass to the input); otherwise the pass runs under ``no_grad`` and outputs
    are detached. ``detach_rest`` (with a full pass) hands the rest of the network detached copies, so no
    graph is recorded after the layers. The pass runs in eval mode with frozen parameters (both restored
    after; gradients reach only ``x``). ``reduce(name, output)`` (without ``keep_graph``) is applied to each
    output as soon as the layer returns it, and its result kept instead of a copy (a scan keeps per-channel
    maxima). ``grads_to_outputs`` (with ``keep_graph`` and a full pass) keeps the layers' own outputs, so
    gradients of the logits reach them (CAMs), and hands the rest of the network a copy, so in-place
    operations after a layer leave its kept output unchanged. Raises KeyError for a name that is not a
    submodule or that the forward pass did not call.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = _modules_named(model, names)
    wanted = set(names)
    outputs: dict[str, torch.Tensor] = {}

    def keeper(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
            tensor = first_tensor(output)
            if tensor is not None and reduce is not None:
                outputs[name] = reduce(name, tensor.detach())
            elif isinstance(output, torch.Tensor) and keep_graph and grads_to_outputs:
                outputs[name] = output
                return output.clone()
            elif tensor is not None:
                outputs[name] = tensor.clone() if keep_graph else tensor.detach().clone()
            if stop_early and wanted.issubset(outputs):
                raise _StopForward
            if detach_rest and isinstance(output, torch.Tensor):
                return output.detach().clone()
            return None

        return hook

    logits = None
    with HookSet() as hooks, eval_and_frozen(model.module), torch.set_grad_enabled(keep_graph):
        for name in wanted:
            hooks.add(modules[name].register_forward_hook(keeper(name)))
        try:
            logits = _scores(model.module(x.to(model.device)))
        except _StopForward:
            pass
    not_called = [n for n in names if n not in outputs]
    if not_called:
        raise KeyError(f"the forward pass did not call {', '.join(map(repr, not_called))}")
    return LayerOutputs({name: outputs[name] for name in names}, logits)
