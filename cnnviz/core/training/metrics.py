"""Scores of a classifier on labelled images: log-loss, top-1 and top-3 accuracy and the confusion
matrix (:class:`Metrics`, :func:`evaluate`), and the per-epoch rows of a training history
(:class:`EpochMetrics`)."""

from collections.abc import Generator
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.progress import ProgressFn, Step, run_to_end
from cnnviz.core.training.splits import check_labelled

TOP_K = 3


@dataclass(frozen=True)
class EpochMetrics:
    """One row of a training history: after ``epoch`` (1-based), on ``split`` ("train": averaged over
    the epoch's batches as they were trained; "val": the model at the epoch's end), the mean
    cross-entropy ``loss`` (nats per image), ``top1``/``top3`` accuracy (0…1), the split's
    ``seconds`` and the learning rate ``lr`` the epoch used, over ``images`` images."""

    epoch: int
    split: str
    loss: float
    top1: float
    top3: float
    seconds: float
    lr: float
    images: int

    def to_json(self) -> dict[str, float | int | str]:
        """The row as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class Metrics:
    """Scores over ``count`` images: mean cross-entropy ``loss`` (nats), ``top1``/``top3`` accuracy
    (0…1) and ``confusion`` [K, K] counts (rows: true class, columns: predicted)."""

    loss: float
    top1: float
    top3: float
    confusion: np.ndarray
    count: int


class Tally:
    """Running sums of loss, top-1/top-3 hits and the confusion matrix over batches."""

    def __init__(self, classes: int) -> None:
        self.classes = classes
        self.loss = 0.0
        self.top1 = self.top3 = self.count = 0
        self.confusion = np.zeros((classes, classes), dtype=np.int64)

    def add(self, logits: torch.Tensor, labels: torch.Tensor, loss_sum: float | None = None) -> None:
        """Count a batch: ``logits`` [B, K], ``labels`` [B]; ``loss_sum``: its summed cross-entropy
        when already computed."""
        logits, labels = logits.detach().float(), labels.to(logits.device)
        if loss_sum is None:
            loss_sum = float(F.cross_entropy(logits, labels, reduction="sum"))
        top = logits.topk(min(TOP_K, logits.shape[1]), dim=1).indices
        hits = top == labels[:, None]
        self.loss += loss_sum
        self.top1 += int(hits[:, 0].sum())
        self.top3 += int(hits.any(dim=1).sum())
        self.count += int(labels.numel())
        np.add.at(self.confusion, (labels.cpu().numpy(), top[:, 0].cpu().numpy()), 1)

    def metrics(self) -> Metrics:
        """The scores so far (NaN before the first image)."""
        n = max(self.count, 1)
        nan = float("nan")
        return Metrics(self.loss / n if self.count else nan, self.top1 / n if self.count else nan,
                       self.top3 / n if self.count else nan, self.confusion.copy(), self.count)


def labels_of(dataset: ImageDataset, indices: torch.Tensor) -> torch.Tensor:
    """The class labels [B] (int64) of dataset images ``indices``."""
    assert dataset.labels is not None
    return torch.tensor([dataset.labels[int(i)] for i in indices], dtype=torch.int64)


@dataclass(frozen=True)
class Predictions:
    """What a classifier said of each readable image: its ``indices`` [N] in the dataset, the true
    ``labels`` [N], the ``top`` classes [N, k] (k = min(3, classes), best first) and their softmax
    ``probabilities`` [N, k] (0…1)."""

    indices: np.ndarray
    labels: np.ndarray
    top: np.ndarray
    probabilities: np.ndarray

    def predicted(self) -> np.ndarray:
        """The top-1 class of each image [N]."""
        return self.top[:, 0]


def predict_steps(model: LoadedModel, dataset: ImageDataset, *, batch_size: int = 64,
                  workers: int | None = None) -> Generator[Step, None, tuple[Metrics, Predictions]]:
    """:func:`evaluate` as steps (images done of all), also returning each image's :class:`Predictions`."""
    check_labelled(dataset, "test", list(model.categories) if len(model.categories) else None)
    tally = Tally(len(dataset.classes))
    parts: list[tuple[np.ndarray, ...]] = []
    for batch in datasets.batches(dataset, model.preprocessor(), range(len(dataset)), batch_size=batch_size,
                                  workers=workers):
        if len(batch.indices):
            logits, labels = model.logits(batch.x).float(), labels_of(dataset, batch.indices)
            tally.add(logits, labels)
            best = F.softmax(logits, dim=1).topk(min(TOP_K, logits.shape[1]), dim=1)
            parts.append((np.asarray(batch.indices), labels.numpy(), best.indices.cpu().numpy(),
                          best.values.cpu().numpy()))
        yield Step(tally.count, len(dataset))
    k = min(TOP_K, len(dataset.classes))
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, k), np.int64), np.zeros((0, k), np.float32))
    joined = [np.concatenate([part[i] for part in parts]) if parts else empty[i] for i in range(4)]
    return tally.metrics(), Predictions(*joined)


def evaluate_steps(model: LoadedModel, dataset: ImageDataset, *, batch_size: int = 64,
                   workers: int | None = None) -> Generator[Step, None, Metrics]:
    """:func:`evaluate` as steps (images done of all), for cancelling between batches."""
    metrics, _ = yield from predict_steps(model, dataset, batch_size=batch_size, workers=workers)
    return metrics


def evaluate(model: LoadedModel, dataset: ImageDataset, *, batch_size: int = 64, workers: int | None = None,
             progress: ProgressFn | None = None) -> Metrics:
    """Scores of ``model`` on the labelled ``dataset`` (eval mode, no gradient); its classes must be
    the model's. Images that cannot be decoded are left out. ``progress(done, total)`` returning
    False cancels (:class:`~cnnviz.core.Cancelled`)."""
    return run_to_end(evaluate_steps(model, dataset, batch_size=batch_size, workers=workers), progress)
