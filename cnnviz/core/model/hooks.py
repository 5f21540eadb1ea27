"""Registering hooks on a user's model so that they are always removed again.

Every hook cnnviz puts on a model goes through a :class:`HookSet` used as a context manager: the
hooks are removed when the block ends, whether it ends normally, by an exception or by a cancel.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


class HookSet:
    """A set of hook handles removed together by :meth:`remove` or on leaving a ``with`` block."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []

    def add(self, handle: RemovableHandle) -> RemovableHandle:
        """Keep ``handle`` for removal and return it."""
        self._handles.append(handle)
        return handle

    def remove(self) -> None:
        """Remove every hook added so far."""
        while self._handles:
            self._handles.pop().remove()

    def __enter__(self) -> "HookSet":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def hook_count(module: nn.Module) -> int:
    """Total number of forward, forward-pre and backward hooks on ``module`` and its descendants."""
    total = 0
    for sub in module.modules():
        for attribute in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                          "_backward_pre_hooks", "_forward_hooks_with_kwargs",
                          "_forward_pre_hooks_with_kwargs"):
            total += len(getattr(sub, attribute, {}) or {})
    return total


@contextmanager
def eval_and_frozen(module: nn.Module) -> Iterator[None]:
    """Run a block with ``module`` in eval mode and parameters not requiring grad; restore both after."""
    was_training = [(m, m.training) for m in module.modules()]
    requires = [(p, p.requires_grad) for p in module.parameters()]
    try:
        module.eval()
        for parameter, _ in requires:
            parameter.requires_grad_(False)
        yield
    finally:
        for parameter, flag in requires:
            parameter.requires_grad_(flag)
        for sub, flag in was_training:
            sub.training = flag


def forward_order(module: nn.Module, x: torch.Tensor) -> list[str]:
    """Dotted names of the submodules of ``module`` in the order a forward pass on ``x`` enters them.

    A container comes before its children; a module called several times is listed once, at its
    first call; modules the forward pass does not call are left out. The pass runs in eval mode.
    """
    names = {id(sub): name for name, sub in module.named_modules() if name}
    order: list[str] = []
    seen: set[str] = set()

    def enter(sub: nn.Module, _inputs: object) -> None:
        name = names.get(id(sub))
        if name is not None and name not in seen:
            seen.add(name)
            order.append(name)

    with HookSet() as hooks, eval_and_frozen(module), torch.no_grad():
        for _, sub in module.named_modules():
            hooks.add(sub.register_forward_pre_hook(enter))
        module(x)
    return order
