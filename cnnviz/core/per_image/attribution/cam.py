"""Class activation maps on a convolutional layer: Grad-CAM (Selvaraju et al. 2017), Grad-CAM++
(Chattopadhay et al. 2018), Score-CAM (Wang et al. 2020) and LayerCAM (Jiang et al. 2021).

A CAM weights the layer's K feature maps A_k [h, w] and keeps the positive part of their weighted
sum; ``raw`` is that map at the layer's resolution and ``map`` its bilinear upsampling to the input.
The gradient CAMs differentiate the target's logit; Score-CAM scores masked copies of the input.
Each follows the definitions of the ``grad-cam`` package (``pytorch_grad_cam``), which the tests
compare against.
"""

from collections.abc import Generator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.model.batching import check_layer, in_batches, known_item_cost
from cnnviz.core.model.forward import first_tensor, forward_to
from cnnviz.core.model.hooks import HookSet, eval_and_frozen
from cnnviz.core.model.layers import trace
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.attribution.common import batch_plan, logits_of
from cnnviz.core.per_image.attribution.result import Attribution, finished, upsampled
from cnnviz.core.progress import Step

Steps = Generator[Step, None, Attribution]

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

PLUSPLUS_EPS = 1e-6
"""Added to the denominator of Grad-CAM++'s coefficients α (as in the ``grad-cam`` package)."""

MASK_EPS = 1e-8
"""Added to the range of each Score-CAM mask before dividing by it, so a flat map gives a zero mask."""


def cam_layers(model: LoadedModel) -> list[str]:
    """Layers a CAM can use, in the order their outputs are made (a module called several times at
    its last call): modules giving a 4-D output with a spatial grid larger than 1×1 (plain
    containers, whose output is their last child's, and channels-last [H, W, C] outputs, such as the
    layers inside ConvNeXt's blocks, left out)."""
    key = ("cam_layers", tuple(model.input_size))
    if key in model.cache:
        return list(model.cache[key])
    names = {id(m): n for n, m in model.module.named_modules() if n}
    found: list[str] = []

    def record(module: nn.Module, _inputs: Any, output: Any) -> None:
        tensor = first_tensor(output)
        name = names.get(id(module))
        if (name is not None and tensor is not None and tensor.dim() == 4 and tensor.shape[2] * tensor.shape[3] > 1
                and type(module) not in _CONTAINERS):
            if name in found:
                found.remove(name)
            found.append(name)

    dummy = torch.zeros(1, model.in_channels, *model.input_size, device=model.device)
    with HookSet() as hooks, eval_and_frozen(model.module), torch.no_grad():
        for module in model.module.modules():
            if id(module) in names:
                hooks.add(module.register_forward_hook(record))
        model.module(dummy)
    traced = trace(model)
    found = [name for name in found if name not in traced or not traced[name].channels_last]
    model.cache[key] = tuple(found)
    return found


def default_layer(model: LoadedModel) -> str:
    """The CAM layer used when none is given: the last of :func:`cam_layers`, i.e. the last layer
    whose output still has a spatial grid larger than 1×1. ValueError for a model without one."""
    layers = cam_layers(model)
    if not layers:
        raise ValueError(f"{model.display_name} has no convolutional layer with a spatial grid for a CAM")
    return layers[-1]


def layer_and_gradient(model: LoadedModel, x: torch.Tensor, layer: str,
                       target: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The layer's output A [K, h, w], the gradient of the target logit with respect to it [K, h, w]
    and the target logit, from one forward and one backward pass on ``x`` [1, C, H, W].
    ValueError for a layer the model lacks or whose output has no spatial grid."""
    check_layer(model, layer, "a CAM")
    source = x.detach().to(model.device)
    with torch.enable_grad():
        passed = forward_to(model, source.requires_grad_(True), layers=layer, stop_early=False, keep_graph=True,
                            grads_to_outputs=True)
        activation, logits = _grid(passed[layer], layer), passed.logits
        if logits is None:
            raise ValueError(f"{model.display_name} gives no class scores")
        (gradient,) = torch.autograd.grad(logits[0, target], activation)
    return activation[0].detach(), gradient[0].detach(), float(logits[0, target].detach())


def layer_output(model: LoadedModel, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The layer's output A [K, h, w] for ``x`` [1, C, H, W], without gradients (its last call
    when the layer runs several times). ValueError as for :func:`layer_and_gradient`."""
    check_layer(model, layer, "a CAM")
    activation = forward_to(model, x, layers=layer, stop_early=False)[layer]
    return _grid(activation, layer)[0]


def _grid(activation: torch.Tensor, layer: str) -> torch.Tensor:
    if activation.dim() != 4:
        raise ValueError(f"a CAM needs a layer with a spatial grid; {layer} gives shape {tuple(activation.shape)}")
    return activation


def _weighted(weights: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """ReLU(Σ_k w_k A_k) [h, w] for channel weights [K] (or per-position weights [K, h, w])."""
    if weights.dim() == 1:
        weights = weights[:, None, None]
    return torch.relu((weights * activation).sum(0))


def _finished(cam: torch.Tensor, model: LoadedModel, x: torch.Tensor, method: str, target: int, layer: str,
              **params: Any) -> Attribution:
    size = (int(x.shape[-2]), int(x.shape[-1]))
    return finished(upsampled(cam, size), cam, method, target, layer=layer, params=params)


def gradcam_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str) -> Steps:
    """Grad-CAM: channel weights α_k = spatial mean of d logit[target] / d A_k; ``raw`` = ReLU(Σ_k α_k A_k)."""
    activation, gradient, _ = layer_and_gradient(model, x, layer, target)
    cam = _weighted(gradient.mean(dim=(1, 2)), activation)
    yield Step(1, 1)
    return _finished(cam, model, x, "gradcam", target, layer)


def gradcam_plusplus_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str) -> Steps:
    """Grad-CAM++ (eq. 19 of the paper, with g = d logit[target] / d A_k at each position):
    α = g² / (2 g² + Σ_ab A_k[a, b] · g³ + :data:`PLUSPLUS_EPS`), 0 where g = 0; channel weights
    w_k = Σ_ij α_ij ReLU(g_ij); ``raw`` = ReLU(Σ_k w_k A_k)."""
    activation, gradient, _ = layer_and_gradient(model, x, layer, target)
    squared = gradient * gradient
    totals = activation.sum(dim=(1, 2), keepdim=True)
    alpha = squared / (2 * squared + totals * (squared * gradient) + PLUSPLUS_EPS)
    alpha = torch.where(gradient != 0, alpha, torch.zeros_like(alpha))
    cam = _weighted((torch.relu(gradient) * alpha).sum(dim=(1, 2)), activation)
    yield Step(1, 1)
    return _finished(cam, model, x, "gradcam++", target, layer)


def layercam_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str) -> Steps:
    """LayerCAM: each position weighted by its own positive gradient, ``raw`` = ReLU(Σ_k ReLU(g_k) · A_k)
    with g_k = d logit[target] / d A_k [h, w]."""
    activation, gradient, _ = layer_and_gradient(model, x, layer, target)
    cam = _weighted(torch.relu(gradient), activation)
    yield Step(1, 1)
    return _finished(cam, model, x, "layercam", target, layer)


def score_masks(activation: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Score-CAM's masks [K, H, W] in [0, 1] from feature maps [K, h, w]: each map upsampled bilinearly
    to ``size`` (H, W) with corners aligned (``nn.UpsamplingBilinear2d``, as the ``grad-cam`` package
    does) and scaled to its own range, (M − min) / (max − min + :data:`MASK_EPS`)."""
    grown = F.interpolate(activation[None].float(), size=size, mode="bilinear", align_corners=True)[0]
    flat = grown.flatten(1)
    low, high = flat.min(dim=1).values[:, None, None], flat.max(dim=1).values[:, None, None]
    return (grown - low) / (high - low + MASK_EPS)


def scorecam_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str,
                   batch_size: int | None = None) -> Steps:
    """Score-CAM: the input is multiplied by each of the K masks of :func:`score_masks` (in normalised
    input space), the target logit of each masked copy scored, and the channel weights are the softmax
    of those K logits (Algorithm 1 of the paper; subtracting a baseline's logit, the paper's "increase
    of confidence", would shift them all alike, which the softmax ignores). ``raw`` = ReLU(Σ_k w_k A_k).

    Masked copies go through the model ``batch_size`` at a time (None: start at 64; either clamped to
    what fits, see :func:`~cnnviz.core.model.batching.batch_cap`); yields a step of masks done of K after each batch."""
    source = x.detach().to(model.device)
    activation = layer_output(model, source, layer)
    count, size = activation.shape[0], (int(x.shape[-2]), int(x.shape[-1]))
    scores = torch.empty(count, device=activation.device)

    def run(start: int, stop: int) -> None:
        masks = score_masks(activation[start:stop], size)
        scores[start:stop] = logits_of(model, source * masks[:, None].to(source.dtype))[:, target].float()

    cap, target_s = batch_plan(known_item_cost(model, source), batch_size)
    for done in in_batches(count, batch_size, run, cap=cap, target_s=target_s):
        yield Step(done, count)
    cam = _weighted(torch.softmax(scores, dim=0), activation)
    return _finished(cam, model, x, "scorecam", target, layer, batch_size=batch_size)


STEPS = {
    "gradcam": gradcam_steps,
    "gradcam++": gradcam_plusplus_steps,
    "scorecam": scorecam_steps,
    "layercam": layercam_steps,
}
