"""A probe's frozen features, computed once: what enters the head for every image, so that each epoch
after the first trains the head on cached vectors instead of running the whole network.

The layers after the head (SqueezeNet's ReLU and average pooling, say) form the *tail*, replayed on
the head's output in forward order. The cache is used only when replaying gives the model's own
scores on the first batch and when it fits in :data:`CACHE_LIMIT_BYTES`; otherwise every epoch runs
the network.
"""

from collections.abc import Generator, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.hooks import HookSet
from cnnviz.core.model.loaded_model import output_logits
from cnnviz.core.progress import Step
from cnnviz.core.training.loaders import labelled_batches
from cnnviz.core.training.prepare import Prepared

CACHE_LIMIT_BYTES = 2 * 1024**3
"""Largest cache of head inputs (all splits together) kept in memory."""
TAIL_TOLERANCE = 1e-4


@dataclass
class FeatureCache:
    """What enters the head: ``inputs`` [N, ...] (CPU, float32) with their ``labels`` [N]."""

    inputs: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.numel())


def tail_names(prepared: Prepared) -> list[str]:
    """The head and the layers without children the forward pass calls after it, in order."""
    order = prepared.model.layer_names()
    modules = dict(prepared.module.named_modules())
    after = order[order.index(prepared.head):]
    return [name for name in after if name == prepared.head or not any(True for _ in modules[name].children())]


def run_tail(module: nn.Module, names: list[str], inputs: torch.Tensor) -> torch.Tensor:
    """Class scores [N, K] from head ``inputs`` by the layers ``names`` in turn (flattened at the end)."""
    h = inputs
    for name in names:
        h = module.get_submodule(name)(h)
    return h.flatten(1) if h.dim() > 2 else h


def cache_steps(prepared: Prepared, dataset: ImageDataset, *, batch_size: int, workers: int | None,
                budget: int = CACHE_LIMIT_BYTES) -> Generator[Step, None, FeatureCache | None]:
    """The head inputs of every image of ``dataset`` (eval mode, no gradient), as steps of images
    done; None when the tail does not replay the model or the cache would pass ``budget`` bytes."""
    module, device = prepared.module, prepared.model.device
    head = module.get_submodule(prepared.head)
    names = tail_names(prepared)
    seen: list[torch.Tensor] = []
    inputs: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    done = 0
    with HookSet() as hooks:
        hooks.add(head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach())))
        module.eval()
        for x, y in labelled_batches(dataset, prepared.model.preprocessor(), range(len(dataset)),
                                     batch_size=batch_size, workers=workers, seed=0):
            seen.clear()
            with torch.no_grad():
                scores = output_logits(module(x.to(device)))
                if not inputs and not _replays(module, names, seen, scores, len(dataset), budget):
                    return None
            inputs.append(seen[0].float().cpu())
            labels.append(y)
            done += len(y)
            yield Step(done, len(dataset), message="computing the frozen features once")
    return FeatureCache(torch.cat(inputs), torch.cat(labels))


def _replays(module: nn.Module, names: list[str], seen: list[torch.Tensor], scores: torch.Tensor, count: int,
             budget: int) -> bool:
    """Whether the first batch's head input is usable: entered once, within budget, the tail giving ``scores``."""
    if len(seen) != 1:
        return False
    per_image = seen[0][0].numel() * 4
    if per_image * count > budget:
        return False
    replayed = run_tail(module, names, seen[0])
    return replayed.shape == scores.shape and bool(torch.allclose(replayed, scores, atol=TAIL_TOLERANCE,
                                                                  rtol=TAIL_TOLERANCE))


def cached_batches(cache: FeatureCache, order: torch.Tensor, batch_size: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches ``(inputs, labels)`` of ``cache`` in ``order``."""
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        yield cache.inputs[chosen], cache.labels[chosen]
