"""Batched forward passes for the perturbation analyses (occlusion, invariance).

:func:`forward_batch` runs one batch and keeps, besides the class probabilities, a reduced view of
chosen layers' outputs (e.g. one channel's sum); :func:`in_batches` walks a range of items in
batches that start large and halve when memory runs out. :func:`batch_cap` bounds a batch by what
one item costs (:func:`item_cost`, probed once per model and input size: :func:`known_item_cost`): its memory
against the RAM available, and its time against
:data:`TARGET_BATCH_S`; a batch that still takes longer shrinks the next ones, so a cancel between
batches is never held up for long. :func:`job_cap` skips that probe for jobs smaller than it.
"""

import time
from collections.abc import Callable, Generator
from typing import NamedTuple

import psutil
import torch
from torch import nn

from cnnviz.core.model.forward import first_tensor, tensors_in
from cnnviz.core.model.hooks import HookSet, eval_and_frozen
from cnnviz.core.model.loaded_model import LoadedModel, output_logits

DEFAULT_BATCH = 64
"""Items per batch to start with when the caller gives none."""

MEMORY_FRACTION = 0.25
"""Share of the available RAM one batch may take (its estimated activation memory)."""

TARGET_BATCH_S = 0.35
"""Seconds one batch should take at most (a cancel is seen between batches, so it waits less than 0.5 s); a
slower batch shrinks the next ones to fit."""

PROBE_ITEMS = 8
"""Items in the pass that times one item (:func:`item_cost`)."""

TIME_MARGIN = 1.25
"""Factor on the probed time per item, for a batch larger than the probe's (on a 2-core CPU AlexNet's time per
item at 224 px is the same in batches of 8 and 64; the batches after a slower one shrink anyway). A larger margin
made batches of two items, whose fixed costs doubled the time of an occlusion map."""

LAYERS_LISTED = 8
"""How many layer names an unknown-layer message lists."""

Reducer = Callable[[torch.Tensor], torch.Tensor]


def is_out_of_memory(error: BaseException) -> bool:
    """True for the errors torch raises when a device (CPU, CUDA, MPS) cannot allocate memory."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text or isinstance(error, MemoryError))


def check_layer(model: LoadedModel, layer: str, task: str) -> None:
    """Raise ValueError naming ``task`` and the model's first layers unless ``layer`` is one of its modules."""
    names = [name for name, _ in model.module.named_modules() if name]
    if layer in names:
        return
    shown = ", ".join(names[:LAYERS_LISTED]) + (", …" if len(names) > LAYERS_LISTED else "")
    raise ValueError(f"{task}: the model has no layer {layer!r}; its {len(names)} layers are {shown}")


class ItemCost(NamedTuple):
    """What one input item costs in a forward pass without gradients: estimated ``bytes`` and ``seconds``."""

    bytes: int
    seconds: float


def item_cost(model: LoadedModel, x: torch.Tensor) -> ItemCost:
    """The cost of one item ``x`` [1, C, H, W]: bytes of the input plus every leaf module's output (an
    upper bound, as most are freed along the way), and the time per item of the faster of two
    unhooked passes over :data:`PROBE_ITEMS` copies, times :data:`TIME_MARGIN`."""
    total = [x[:1].numel() * x.element_size()]

    def count(_module: nn.Module, _inputs: object, output: object) -> None:
        total[0] += sum(t.numel() * t.element_size() for t in tensors_in(output))

    item = x[:1].to(model.device)
    probe = item.expand(PROBE_ITEMS, *item.shape[1:])
    leaves = [m for m in model.module.modules() if not any(True for _ in m.children())]
    times = []
    with eval_and_frozen(model.module), torch.no_grad():
        with HookSet() as hooks:
            for module in leaves:
                hooks.add(module.register_forward_hook(count))
            model.module(item)
        for _ in range(2):
            began = time.perf_counter()
            model.module(probe)
            times.append(time.perf_counter() - began)
    return ItemCost(total[0], min(times) / PROBE_ITEMS * TIME_MARGIN)


def known_item_cost(model: LoadedModel, x: torch.Tensor) -> ItemCost:
    """:func:`item_cost` of ``x``, probed once per model, item shape, dtype and device and kept in the model's
    cache (a job like the last one starts at once; a batch slower than planned still shrinks the next ones)."""
    key = ("item_cost", tuple(x.shape[1:]), str(x.dtype), str(model.device))
    cost = model.cache.get(key)
    if not isinstance(cost, ItemCost):
        cost = model.cache[key] = item_cost(model, x)
    return cost


def job_cap(model: LoadedModel, x: torch.Tensor, count: int) -> int:
    """The batch cap for a job of ``count`` items like ``x`` [1, C, H, W]: :func:`batch_cap` of
    :func:`known_item_cost`, or ``count`` itself for a job of at most :data:`PROBE_ITEMS` items, which
    the probe would cost more than (and which it would run at once itself)."""
    return count if count <= PROBE_ITEMS else batch_cap(known_item_cost(model, x))


def batch_cap(cost: ItemCost, available: int | None = None, *, target_s: float | None = None) -> int:
    """Most items (≥ 1) of ``cost`` in one batch: their bytes fit in :data:`MEMORY_FRACTION` of
    ``available`` bytes (None: the RAM available now, from psutil) and their time in ``target_s``
    seconds (None: :data:`TARGET_BATCH_S`; ``math.inf``: no bound on time)."""
    free = psutil.virtual_memory().available if available is None else available
    target = TARGET_BATCH_S if target_s is None else target_s
    by_memory = int(free * MEMORY_FRACTION) // max(1, cost.bytes)
    by_time = int(min(target / cost.seconds, by_memory)) if cost.seconds > 0 else by_memory
    return max(1, min(by_memory, by_time))


def forward_batch(model: LoadedModel, batch: torch.Tensor, *,
                  reducers: dict[str, Reducer] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Probabilities [N, classes] for ``batch`` [N, C, H, W], and ``reducers[name](output)`` of each
    named layer's output (last call), all detached, in one forward pass in eval mode without gradients.
    Raises ValueError when the model's class scores are not all finite."""
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
    if not torch.isfinite(logits).all():
        raise ValueError(f"{model.display_name} gives non-finite class scores (NaN or inf) for this image, "
                         "so its probabilities would be meaningless")
    return torch.softmax(logits.float(), dim=1), kept


def in_batches(count: int, batch_size: int | None, run: Callable[[int, int], None], *,
               cap: int | None = None, target_s: float | None = None) -> Generator[int, None, int]:
    """Call ``run(start, stop)`` over items 0..count-1 in batches; yield the items done after each.

    Without ``batch_size`` the first batch holds :data:`DEFAULT_BATCH` items; either is clamped to
    ``cap`` (e.g. :func:`batch_cap`). Whenever ``run`` runs out of memory the batch is halved and
    retried (down to one item, then the error is raised); a batch slower than ``target_s`` seconds
    (None: :data:`TARGET_BATCH_S`; ``math.inf``: never) shrinks the following ones to fit it (at least
    halving them). Returns the batch size that worked last.
    """
    size = batch_size or DEFAULT_BATCH
    size = max(1, min(size, cap) if cap else size)
    start = 0
    while start < count:
        stop = min(count, start + size)
        began = time.perf_counter()
        try:
            run(start, stop)
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error) or size == 1:
                raise
            size = max(1, size // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        elapsed = time.perf_counter() - began
        target = TARGET_BATCH_S if target_s is None else target_s
        if elapsed > target:
            size = max(1, min(size // 2, int(size * target / elapsed)))
        start = stop
        yield start
    return size
