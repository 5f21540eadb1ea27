"""Batched forward passes for the perturbation analyses (occlusion, invariance).

:func:`forward_batch` runs one batch and keeps, besides the class probabilities, a reduced view of
chosen layers' outputs (e.g. one channel's sum); :func:`in_batches` walks a range of items in
batches that start large and halve when memory runs out.
"""

from collections.abc import Callable, Generator

import torch
from torch import nn

from cnnviz.core.forward import first_tensor
from cnnviz.core.hooks import HookSet, eval_and_frozen
from cnnviz.core.loaded_model import LoadedModel, output_logits

DEFAULT_BATCH = 64
"""Items per batch to start with when the caller gives none."""

Reducer = Callable[[torch.Tensor], torch.Tensor]


def is_out_of_memory(error: BaseException) -> bool:
    """True for the errors torch raises when a device (CPU, CUDA, MPS) cannot allocate memory."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text or isinstance(error, MemoryError))


def forward_batch(model: LoadedModel, batch: torch.Tensor, *,
                  reducers: dict[str, Reducer] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Probabilities [N, classes] for ``batch`` [N, C, H, W], and ``reducers[name](output)`` of each
    named layer's output (last call), all detached, in one forward pass in eval mode without gradients."""
    reducers = reducers or {}
    modules = dict(model.module.named_modules())
    kept: dict[str, torch.Tensor] = {}

    def keeper(name: str, reduce: Reducer):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            tensor = first_tensor(output)
            if tensor is not None:
                kept[name] = reduce(tensor.detach())

        return hook

    with HookSet() as hooks, eval_and_frozen(model.module), torch.no_grad():
        for name, reduce in reducers.items():
            hooks.add(modules[name].register_forward_hook(keeper(name, reduce)))
        logits = output_logits(model.module(batch.to(model.device)))
    return torch.softmax(logits.float(), dim=1), kept


def in_batches(count: int, batch_size: int | None,
               run: Callable[[int, int], None]) -> Generator[int, None, int]:
    """Call ``run(start, stop)`` over items 0..count-1 in batches; yield the items done after each.

    Without ``batch_size`` the first batch holds :data:`DEFAULT_BATCH` items; whenever ``run`` runs
    out of memory the batch is halved and retried (down to one item, then the error is raised).
    Returns the batch size that worked last.
    """
    size = max(1, batch_size or DEFAULT_BATCH)
    start = 0
    while start < count:
        stop = min(count, start + size)
        try:
            run(start, stop)
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error) or size == 1:
                raise
            size = max(1, size // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        start = stop
        yield start
    return size
