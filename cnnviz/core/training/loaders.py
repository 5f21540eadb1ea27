"""Labelled training batches through ``torch.utils.data.DataLoader`` workers, shuffled and augmented
reproducibly: an epoch's order and random numbers depend only on the run's seed and the epoch."""

from collections.abc import Callable, Iterator, Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.data.images import ImageLoadError

Transform = Callable[[Image.Image], torch.Tensor]
LabelledBatch = tuple[torch.Tensor, torch.Tensor]


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` (1-based) of a run seeded ``seed``."""
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order [count] (int64) of the training images in epoch ``epoch``."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))


def shard(order: torch.Tensor, rank: int, world: int, *, even: bool = False) -> torch.Tensor:
    """Process ``rank``'s part of ``order`` among ``world`` processes (every ``world``-th image).
    ``even``: every part equally long, the first images repeated to fill the last places (each
    process then runs the same number of batches, as DistributedDataParallel needs)."""
    if even and len(order) % world:
        order = torch.cat([order, order[:world - len(order) % world]])
    return order[rank::world]


class _Labelled(TorchDataset):
    """Item ``j``: (image tensor, label) of dataset image ``indices[j]``, or None when it cannot be decoded."""

    def __init__(self, dataset: ImageDataset, transform: Transform, indices: Sequence[int]) -> None:
        assert dataset.labels is not None
        self.dataset, self.transform, self.indices = dataset, transform, [int(i) for i in indices]
        self.labels = dataset.labels

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int) -> tuple[torch.Tensor, int] | None:
        i = self.indices[j]
        try:
            return self.transform(self.dataset.image(i)), self.labels[i]
        except (ImageLoadError, OSError, ValueError):
            return None


def _collate(items: list[tuple[torch.Tensor, int] | None]) -> LabelledBatch | None:
    good = [item for item in items if item is not None]
    if not good:
        return None
    return torch.stack([x for x, _ in good]), torch.tensor([y for _, y in good], dtype=torch.int64)


def labelled_batches(dataset: ImageDataset, transform: Transform, indices: Sequence[int], *, batch_size: int,
                     workers: int | None, seed: int) -> Iterator[LabelledBatch]:
    """Batches ``(x [B, C, H, W], labels [B])`` of dataset images ``indices`` in that order, each made
    by ``transform``; images that cannot be decoded are left out. ``workers`` processes (None:
    :func:`~cnnviz.core.data.datasets.default_workers`) seeded from ``seed``."""
    workers = datasets.default_workers(len(indices)) if workers is None else workers
    loader = DataLoader(_Labelled(dataset, transform, indices), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=_collate, generator=torch.Generator().manual_seed(seed),
                        multiprocessing_context=datasets.start_method() if workers > 0 else None)
    iterator = iter(loader)
    try:
        for batch in iterator:
            if batch is not None:
                yield batch
    finally:
        del iterator
