"""The forward and backward passes the attribution methods share.

Every pass runs through :func:`cnnviz.core.model.forward.forward_to` (eval mode, frozen parameters, hooks
removed afterwards), so the model is never changed. Gradient methods attribute the target's logit
(the pre-softmax score).
"""

import math
from contextlib import nullcontext
from typing import Any

import torch

from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.batching import ItemCost, batch_cap
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.loaded_model import LoadedModel


def logits_of(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """Class scores [N, classes] for ``x`` [N, C, H, W], without gradients."""
    logits = forward_to(model, x, layers=[], stop_early=False).logits
    if logits is None:
        raise ValueError(f"{model.display_name} gives no class scores")
    return logits


def resolve_target(model: LoadedModel, x: torch.Tensor, target: int | None) -> int:
    """``target`` checked against the model's outputs, or the most probable class of ``x`` [1, C, H, W]. The
    number of outputs is kept in the model's cache per input size, so that a given target costs no forward pass
    after the first."""
    one_image(x, "an attribution")
    key = ("class_count", tuple(x.shape[1:]))
    classes = model.cache.get(key)
    if target is None or not isinstance(classes, int):
        logits = logits_of(model, x)
        classes = model.cache[key] = int(logits.shape[1])
        if target is None:
            return int(logits[0].argmax())
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < classes:
        raise ValueError(f"target must be a class index from 0 to {classes - 1}, not {target!r}")
    return target


def class_gradient(model: LoadedModel, inputs: torch.Tensor, target: int, *,
                   rules: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of each item's ``target`` logit with respect to that item, for a batch ``inputs``
    [N, C, H, W]: returns (gradients [N, C, H, W], logits [N]) on the model's device.

    Items do not interact in eval mode, so one backward pass of the summed logits gives every
    item's own gradient. ``rules`` is an optional torch-function mode (guided or deconvnet ReLU rules)
    active during the forward pass."""
    source = inputs.detach().to(model.device).requires_grad_(True)
    with torch.enable_grad(), rules if rules is not None else nullcontext():
        logits = forward_to(model, source, layers=[], stop_early=False, keep_graph=True).logits
        if logits is None:
            raise ValueError(f"{model.display_name} gives no class scores")
        scores = logits[:, target]
        (gradient,) = torch.autograd.grad(scores.sum(), source)
    return gradient.detach(), scores.detach()


ATTRIBUTION_BATCH_S = 2.0
"""Seconds one batch of an attribution method may take when no batch size is given: longer than the
perturbation panes' :data:`~cnnviz.core.model.batching.TARGET_BATCH_S`, since a gradient pass over a batch of
one or two costs several times more per item than a full batch; a cancel still waits at most this."""


def batch_plan(cost: ItemCost, batch_size: int | None) -> tuple[int, float]:
    """(cap, time target in seconds) for :func:`~cnnviz.core.model.batching.in_batches`: a ``batch_size``
    asked for is kept (bounded by memory only, never shrunk for time); without one, batches fit in
    :data:`ATTRIBUTION_BATCH_S`."""
    target = math.inf if batch_size else ATTRIBUTION_BATCH_S
    return batch_cap(cost, target_s=target), target
