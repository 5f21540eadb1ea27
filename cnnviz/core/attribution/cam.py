"""Class activation maps on a convolutional layer: Grad-CAM (Selvaraju et al. 2017).

A CAM weights the layer's K feature maps A_k [h, w] and keeps the positive part of their weighted
sum; ``raw`` is that map at the layer's resolution and ``map`` its bilinear upsampling to the input.
"""

from collections.abc import Generator
from typing import Any

import torch
from torch import nn

from cnnviz.core.attribution.result import Attribution, finished, upsampled
from cnnviz.core.forward import first_tensor, forward_to
from cnnviz.core.hooks import HookSet, eval_and_frozen
from cnnviz.core.layers import trace
from cnnviz.core.loaded_model import LoadedModel

Steps = Generator[tuple[Any, ...], None, Attribution]

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


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
    and the target logit, from one forward and one backward pass on ``x`` [1, C, H, W]."""
    source = x.detach().to(model.device)
    with torch.enable_grad():
        passed = forward_to(model, source.requires_grad_(True), layers=layer, stop_early=False, keep_graph=True,
                            grads_to_outputs=True)
        activation, logits = passed[layer], passed.logits
        if logits is None:
            raise ValueError(f"{model.display_name} gives no class scores")
        if activation.dim() != 4:
            raise ValueError(f"a CAM needs a layer with a spatial grid; {layer} gives shape {tuple(activation.shape)}")
        (gradient,) = torch.autograd.grad(logits[0, target], activation)
    return activation[0].detach(), gradient[0].detach(), float(logits[0, target].detach())


def _finished(cam: torch.Tensor, model: LoadedModel, x: torch.Tensor, method: str, target: int, layer: str,
              **params: Any) -> Attribution:
    size = (int(x.shape[-2]), int(x.shape[-1]))
    return finished(upsampled(cam, size), cam, method, target, layer=layer, params=params)


def gradcam_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str) -> Steps:
    """Grad-CAM: channel weights α_k = spatial mean of d logit[target] / d A_k; ``raw`` = ReLU(Σ_k α_k A_k)."""
    activation, gradient, _ = layer_and_gradient(model, x, layer, target)
    weights = gradient.mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * activation).sum(0))
    yield 1, 1
    return _finished(cam, model, x, "gradcam", target, layer)


STEPS = {
    "gradcam": gradcam_steps,
}
