"""A classifier's head and the layers before it, for training (:mod:`cnnviz.core.training`).

The *head* is the layer that makes the class scores: the last ``nn.Linear`` or 1×1 ``nn.Conv2d`` a
forward pass calls (AlexNet's and VGG's ``classifier.6``, ResNet's ``fc``, SqueezeNet's
``classifier.1``), or a layer named by the user. :func:`replace_head` gives it the dataset's classes;
:func:`reinitialise` and :func:`freeze_before` set which weights start afresh and which learn.
Everything here works on the module it is given: callers pass a copy of the user's model.
"""

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from cnnviz.core.model.loaded_model import LoadedModel

HEAD_INITS = ("xavier", "kaiming", "zeros")
"""How a new or re-initialised layer's weights start (biases start at zero)."""


def is_head_kind(module: nn.Module) -> bool:
    """True for an ``nn.Linear`` or a 1×1 ``nn.Conv2d``: layers that can make class scores."""
    if isinstance(module, nn.Linear):
        return True
    return isinstance(module, nn.Conv2d) and tuple(module.kernel_size) == (1, 1) and module.groups == 1


def head_name(model: LoadedModel, layer: str = "") -> str:
    """Dotted name of ``model``'s head: ``layer`` when given (checked), else the last ``nn.Linear``
    or 1×1 ``nn.Conv2d`` in forward order. Raises ValueError when there is none or ``layer`` is
    not one, saying what to name instead."""
    modules = dict(model.module.named_modules())
    if layer:
        if layer not in modules:
            raise ValueError(f"head_layer: the model has no layer {layer!r}")
        if not is_head_kind(modules[layer]):
            raise ValueError(f"head_layer: {layer} is a {type(modules[layer]).__name__}; the head must be an "
                             "nn.Linear or a 1×1 nn.Conv2d")
        return layer
    for name in reversed(model.layer_names()):
        if is_head_kind(modules[name]):
            return name
    raise ValueError(f"{model.name}: found no nn.Linear or 1×1 nn.Conv2d that makes the class scores; "
                     "name the head with head_layer")


def initialise(layer: nn.Module, init: str, generator: torch.Generator | None = None) -> None:
    """Re-initialise ``layer``: a Linear or Conv layer's weight by ``init`` (one of
    :data:`HEAD_INITS`) and its bias to zero; any other layer by its own ``reset_parameters``."""
    if init not in HEAD_INITS:
        raise ValueError(f"head_init: {init!r} is not one of {', '.join(HEAD_INITS)}")
    weight = getattr(layer, "weight", None)
    if not isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)) or weight is None:
        reset = getattr(layer, "reset_parameters", None)
        if callable(reset):
            reset()
        return
    with torch.no_grad():
        if init == "zeros":
            weight.zero_()
        elif init == "xavier":
            nn.init.xavier_uniform_(weight, generator=generator)
        else:
            nn.init.kaiming_uniform_(weight, nonlinearity="relu", generator=generator)
        if layer.bias is not None:
            layer.bias.zero_()


def replace_head(module: nn.Module, name: str, classes: int, init: str = "xavier",
                 generator: torch.Generator | None = None) -> nn.Module:
    """Put a layer with ``classes`` outputs in place of head ``name`` of ``module``: the same kind
    and input size (for a conv: stride and padding), on the old layer's device and dtype,
    initialised by ``init``. Returns the new layer."""
    if classes < 1:
        raise ValueError(f"a head needs at least one class, not {classes}")
    old = module.get_submodule(name)
    new: nn.Module
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv2d) and is_head_kind(old):
        new = nn.Conv2d(old.in_channels, classes, kernel_size=1, stride=cast(tuple[int, int], old.stride),
                        padding=cast(tuple[int, int], old.padding), bias=old.bias is not None)
    else:
        raise ValueError(f"{name} is a {type(old).__name__}, not an nn.Linear or 1×1 nn.Conv2d")
    initialise(new, init, generator)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    module.set_submodule(name, new)
    return new


def from_layer(order: Sequence[str], start: str) -> list[str]:
    """The names of ``order`` from ``start`` on (forward order); ValueError naming the layers when
    ``start`` is not among them."""
    if start not in order:
        shown = ", ".join(order[:12]) + (", …" if len(order) > 12 else "")
        raise ValueError(f"{start!r} is not a layer the forward pass calls; layers: {shown}")
    return list(order[order.index(start):])


def reinitialise(module: nn.Module, names: Sequence[str], init: str,
                 generator: torch.Generator | None = None) -> None:
    """Re-initialise every parametrised module among ``names`` and inside them (see :func:`initialise`)."""
    done: set[int] = set()
    for name in names:
        for sub in module.get_submodule(name).modules():
            if id(sub) not in done and any(True for _ in sub.parameters(recurse=False)):
                done.add(id(sub))
                initialise(sub, init, generator)


def reinitialise_all(module: nn.Module) -> None:
    """Every layer of ``module`` back to PyTorch's default initialisation (training from scratch)."""
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset) and any(True for _ in sub.parameters(recurse=False)):
            reset()


def freeze_before(module: nn.Module, trainable: Sequence[str]) -> list[str]:
    """Let only the parameters inside the modules ``trainable`` learn (``requires_grad``); every
    other parameter is frozen. Returns the dotted names of the parameters that learn."""
    keep = {id(p) for name in trainable for p in module.get_submodule(name).parameters()}
    learning = []
    for name, parameter in module.named_parameters():
        parameter.requires_grad_(id(parameter) in keep)
        if id(parameter) in keep:
            learning.append(name)
    return learning
