"""Shared by the gradient-family and integrated-gradients tests: models, inputs and direct references."""

from contextlib import nullcontext

import torch
from torch import nn

from cnnviz.core.model import hooks, models

SMALL_SIDE = 64
"""Side in pixels of the random inputs given to the untrained ResNet18 (keeps the tests fast)."""


def untrained_resnet():
    """torchvision's ResNet18 with seeded random weights, in eval mode, as a LoadedModel (no download)."""
    import torchvision

    from cnnviz.core.model import zoo

    torch.manual_seed(0)
    return zoo.zoo_model(torchvision.models.resnet18().eval(), "resnet18")


def random_input(model, side: int = SMALL_SIDE, seed: int = 0) -> torch.Tensor:
    """Uniform random pixels in [0, 1], normalised for ``model``: [1, C, side, side]."""
    generator = torch.Generator().manual_seed(seed)
    mean, std = model.stats("cpu")
    return (torch.rand((1, model.in_channels, side, side), generator=generator) - mean) / std


def direct_gradient(model, x: torch.Tensor, target: int, rules=None) -> torch.Tensor:
    """d logit[target] / d x [C, H, W] for one input by plain autograd on the module (optionally
    under a torch-function mode of ReLU rules)."""
    source = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), rules if rules is not None else nullcontext():
        logits = model.module(source)
    (gradient,) = torch.autograd.grad(logits[0, target], source)
    return gradient[0]


def state(module: nn.Module):
    """What an analysis must leave as it was: modes, requires_grad flags and weights."""
    return ([m.training for m in module.modules()], [p.requires_grad for p in module.parameters()],
            {k: v.clone() for k, v in module.state_dict().items()})


def assert_untouched(module: nn.Module, before) -> None:
    """No hook left on ``module``, no torch-function mode left active, and ``before`` (:func:`state`) unchanged."""
    assert hooks.hook_count(module) == 0
    assert torch._C._len_torch_function_stack() == 0
    after = state(module)
    assert after[0] == before[0] and after[1] == before[1]
    assert all(torch.equal(after[2][k], before[2][k]) for k in before[2])


class RaisesOnCall(nn.Module):
    """A module that raises on its ``fail_at``-th forward call with gradients (an input that requires
    them; with ``grad_only`` False, any call) and otherwise runs ``inner``."""

    def __init__(self, inner: nn.Module, fail_at: int, grad_only: bool = True):
        super().__init__()
        self.inner = inner
        self.fail_at = fail_at
        self.grad_only = grad_only
        self.calls = 0

    def forward(self, x):
        counted = x.requires_grad or not self.grad_only
        self.calls += counted
        if counted and self.calls == self.fail_at:
            raise RuntimeError(f"broken model on call {self.calls}")
        return self.inner(x)


def raising_copy(model, fail_at: int, grad_only: bool = True):
    """``model`` (a LoadedModel) wrapped in :class:`RaisesOnCall`."""
    return models.wrap(RaisesOnCall(model.module, fail_at, grad_only), input_size=model.input_size, mean=model.mean,
                       std=model.std, in_channels=model.in_channels, resize_size=model.resize_size,
                       categories=model.categories, name="raising net")
