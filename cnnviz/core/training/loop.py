"""Training a copy of a model: :func:`fit_steps` (a generator of steps, cancellable between batches)
and :func:`fit` (the plain call), returning a :class:`TrainingRun`.

Each epoch trains on the training images in a seeded order, scores the validation images and writes
a checkpoint (weights as ``safetensors``, the description as JSON; atomically). A loss that is not
finite stops the run and keeps the last finite checkpoint; a run that is stopped (cancelled) writes
the weights it reached as ``epoch-NNN-partial``. ``resume=True`` goes on from the last whole epoch
in ``out`` and gives the history an uninterrupted run would. With ``torch.distributed`` initialised
(``torchrun``), each process trains on its share of every epoch, the gradients and scores are
reduced across processes and only rank 0 writes (:mod:`~cnnviz.core.training.distributed`).
"""

import math
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model import checkpoint_files
from cnnviz.core.model.loaded_model import LoadedModel, output_logits
from cnnviz.core.progress import ProgressFn, Step, run_to_end
from cnnviz.core.training import checkpoints, distributed, optimisers, runs
from cnnviz.core.training.augment import Augmented
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.loaders import epoch_order, epoch_seed, labelled_batches, shard
from cnnviz.core.training.metrics import EpochMetrics, Metrics, Tally
from cnnviz.core.training.prepare import Prepared, prepare, set_modes
from cnnviz.core.training.probe_cache import FeatureCache, cache_steps, cached_batches, run_tail, tail_names
from cnnviz.core.training.splits import check_labelled


@dataclass(frozen=True)
class TrainingProgress:
    """The partial result of a training step: ``epoch`` (1-based) of ``epochs``, ``batch`` of
    ``batches`` in it, the epoch's mean training ``loss`` so far and the ``history`` of the epochs done."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    history: tuple[EpochMetrics, ...]


@dataclass
class TrainingRun:
    """A finished (or stopped) run: its ``history``, the ``model`` to use (the checkpoint with the
    lowest validation loss, else the last epoch's), the ``checkpoints`` written, the run ``folder``
    (None without one), the ``best_epoch``, why it ``stopped`` early ("" when it ran every epoch) and
    whether that was because the loss ``diverged`` (stopped being finite)."""

    history: list[EpochMetrics]
    model: LoadedModel
    config: TrainConfig
    checkpoints: list[Path] = field(default_factory=list)
    folder: Path | None = None
    best_epoch: int = 0
    stopped: str = ""
    diverged: bool = False

    def rows(self, split: str) -> list[EpochMetrics]:
        """The history rows of ``split`` ("train" or "val"), by epoch."""
        return [row for row in self.history if row.split == split]


class _Trainer:
    """The state of one run between its steps; see the module docstring."""

    def __init__(self, model: LoadedModel, train: ImageDataset, config: TrainConfig, val: ImageDataset | None,
                 out: Path | None) -> None:
        self.base, self.train, self.config, self.val, self.out = model, train, config, val, out
        self.base_spec = checkpoints.base_spec(model) if out is not None else {}
        self.prepared: Prepared = prepare(model, list(train.classes), config)
        self.module = distributed.wrap(self.prepared.module)
        self.optimizer = optimisers.optimizer(self.prepared.module, config)
        self.scaler = optimisers.scaler(config)
        self.history: list[EpochMetrics] = []
        self.best: tuple[float, int, dict[str, torch.Tensor]] | None = None
        self.written: list[Path] = []
        self.stopped = ""
        self.diverged = False
        self.cache: dict[str, FeatureCache | None] = {}
        self.probe_cached = config.mode == "probe" and not config.augment and distributed.world() == 1
        self.tail: list[str] = []

    # Epochs -------------------------------------------------------------------------------------

    def batches_per_epoch(self) -> int:
        share = math.ceil(len(self.train) / distributed.world())
        return max(1, math.ceil(share / self.config.batch_size))

    def epoch_batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = shard(epoch_order(len(self.train), self.config.seed, epoch), distributed.rank(), distributed.world(),
                      even=True)
        cache = self.cache.get("train")
        if cache is not None:
            return cached_batches(cache, order, self.config.batch_size)
        transform = Augmented(self.config.augment, self.prepared.model.preprocessor())
        return labelled_batches(self.train, transform, order.tolist(), batch_size=self.config.batch_size,
                                workers=self.config.workers, seed=epoch_seed(self.config.seed, epoch))

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.prepared.model.device)
        if self.cache.get("train") is not None:
            return run_tail(self.prepared.module, self.tail, x)
        if self.config.channels_last and x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with optimisers.autocast(self.config, x.device):
            return output_logits(self.module(x))

    def epoch_steps(self, epoch: int) -> Generator[Step, None, EpochMetrics | None]:
        """Train one epoch; its train row, or None when the loss stopped being finite."""
        torch.manual_seed(epoch_seed(self.config.seed, epoch))
        set_modes(self.prepared, self.config.mode == "probe")
        lr = optimisers.set_lr(self.optimizer, self.config, epoch)
        began, tally = time.perf_counter(), Tally(len(self.train.classes))
        total = self.batches_per_epoch()
        for batch, (x, y) in enumerate(self.epoch_batches(epoch), 1):
            y = y.to(self.prepared.model.device)
            logits = self.scores(x)
            loss = F.cross_entropy(logits.float(), y)
            if not distributed.all_finite(loss):
                self.diverged = True
                self.stopped = (f"the training loss became {float(loss.detach())} in epoch {epoch}, batch {batch}; "
                                "the last finite checkpoint is kept (try a lower learning rate)")
                return None
            optimisers.step(self.optimizer, self.scaler, loss)
            tally.add(logits, y, float(loss.detach()) * len(y))
            yield Step(batch, total, TrainingProgress(epoch, self.config.epochs, batch, total,
                                                      tally.loss / max(tally.count, 1), tuple(self.history)))
        return self.row(epoch, "train", distributed.reduce_tally(tally).metrics(), began, lr)

    def row(self, epoch: int, split: str, metrics: Metrics, began: float, lr: float) -> EpochMetrics:
        return EpochMetrics(epoch, split, metrics.loss, metrics.top1, metrics.top3,
                            time.perf_counter() - began, lr, metrics.count)

    def validate(self, epoch: int, lr: float) -> Generator[Step, None, EpochMetrics | None]:
        """Score the validation images after ``epoch`` (steps of batches, so a cancel is not held up)."""
        if self.val is None:
            return None
        began, tally = time.perf_counter(), Tally(len(self.train.classes))
        module, device = self.prepared.module, self.prepared.model.device
        module.eval()
        order = shard(torch.arange(len(self.val)), distributed.rank(), distributed.world())
        cache = self.cache.get("val")
        batches: Iterator[tuple[torch.Tensor, torch.Tensor]] = (
            cached_batches(cache, order, self.config.batch_size) if cache is not None else labelled_batches(
                self.val, self.prepared.model.preprocessor(), order.tolist(), batch_size=self.config.batch_size,
                workers=self.config.workers, seed=0))
        for x, y in batches:
            with torch.no_grad():
                inputs = x.to(device)
                scores = run_tail(module, self.tail, inputs) if cache is not None else output_logits(module(inputs))
            tally.add(scores, y)
            yield Step(tally.count, len(order), message=f"validating epoch {epoch}")
        return self.row(epoch, "val", distributed.reduce_tally(tally).metrics(), began, lr)

    # Probe cache ---------------------------------------------------------------------------------

    def cache_features(self) -> Generator[Step, None, None]:
        if not self.probe_cached:
            return
        self.tail = tail_names(self.prepared)
        for split, dataset in (("train", self.train), ("val", self.val)):
            if dataset is None:
                continue
            self.cache[split] = yield from cache_steps(self.prepared, dataset, batch_size=self.config.batch_size,
                                                       workers=self.config.workers)
            if self.cache[split] is None:
                self.cache = {}
                return

    # Checkpoints ---------------------------------------------------------------------------------

    def meta(self, epoch: int) -> dict:
        tensors, rest = checkpoints.optimizer_parts(self.optimizer)
        del tensors
        return {
            "name": self.model_name(epoch), "base": self.base_spec,
            "classes": list(self.train.classes), "head": self.prepared.head if self.prepared.replaced else "",
            "config": self.config.values(), "epoch": epoch, "history": [row.to_json() for row in self.history],
            "best_epoch": self.best[1] if self.best else epoch, "optimizer": rest,
            "data": {"train": self.train.name, "train_images": len(self.train),
                     "val": self.val.name if self.val is not None else None},
        }

    def model_name(self, epoch: int | None) -> str:
        """What the trained model is called: "SqueezeNet → fine-tuned on photos · train, epoch 7"."""
        done = {"probe": "probed", "finetune": "fine-tuned", "scratch": "trained from scratch"}[self.config.mode]
        return f"{self.base.name} → {done} on {self.train.name}" + (f", epoch {epoch}" if epoch else "")

    def save(self, epoch: int, partial: bool = False) -> None:
        if self.out is None or distributed.rank() != 0:
            return
        tensors, _ = checkpoints.optimizer_parts(self.optimizer)
        folder = checkpoints.epoch_folder(self.out, epoch, partial)
        checkpoint_files.write(folder, self.meta(epoch), self.prepared.module.state_dict(), tensors)
        self.written.append(folder)

    def resume(self) -> int:
        """Load the last whole epoch in ``out``; the epoch to start from."""
        if self.out is None or not (found := checkpoints.whole_epochs(self.out)):
            return 1
        epoch, folder = found[-1]
        meta = checkpoint_files.read_meta(folder)
        _check_same_config(meta, self.config, folder)
        device = str(self.prepared.model.device)
        self.prepared.module.load_state_dict(checkpoint_files.read_tensors(folder, device=device))
        optimiser_tensors = checkpoint_files.read_tensors(folder, checkpoint_files.OPTIMIZER)
        checkpoints.restore_optimizer(self.optimizer, optimiser_tensors, meta["optimizer"])
        self.history = checkpoints.history_from(meta)
        best_epoch = int(meta.get("best_epoch", epoch))
        best_state = checkpoint_files.read_tensors(checkpoints.epoch_folder(self.out, best_epoch))
        self.best = (self.val_loss(best_epoch), best_epoch, best_state)
        self.written = [path for _, path in found]
        return epoch + 1

    def val_loss(self, epoch: int) -> float:
        rows = [row for row in self.history if row.epoch == epoch and row.split == "val"]
        return rows[0].loss if rows else float("inf")

    def remember_best(self, epoch: int) -> None:
        loss = self.val_loss(epoch) if self.val is not None else -epoch
        if self.best is None or loss < self.best[0]:
            state = {k: v.detach().clone() for k, v in self.prepared.module.state_dict().items()}
            self.best = (loss, epoch, state)

    def early_stop(self, epoch: int) -> bool:
        patience = self.config.early_stop
        if patience is None or self.val is None or self.best is None or epoch - self.best[1] < patience:
            return False
        self.stopped = f"the validation loss has not improved for {patience} epochs (best: epoch {self.best[1]})"
        return True

    def result(self) -> TrainingRun:
        module = self.prepared.module
        if self.best is not None:
            module.load_state_dict(self.best[2])
        module.eval().requires_grad_(False)
        name = self.model_name(self.best[1] if self.best else None)
        saved = self.out is not None and self.best is not None and bool(self.written)
        path = checkpoints.epoch_folder(self.out, self.best[1]) if saved and self.out and self.best else self.base.path
        model = replace(self.prepared.model, name=name, source="checkpoint" if saved else self.base.source, path=path,
                        cache={})
        return TrainingRun(self.history, model, self.config, list(self.written), self.out,
                           self.best[1] if self.best else 0, self.stopped, self.diverged)


def _check_same_config(meta: dict, config: TrainConfig, folder: Path) -> None:
    recorded = {k: v for k, v in meta.get("config", {}).items() if k != "epochs"}
    current = {k: v for k, v in config.values().items() if k != "epochs"}
    changed = sorted(k for k in current if recorded.get(k) != current[k])
    if changed:
        raise ValueError(f"resume: {folder} was trained with other settings ({', '.join(changed)}); "
                         "resume with the same ones or start a new run folder")


def _check_data(train: ImageDataset, val: ImageDataset | None) -> None:
    check_labelled(train, "train")
    if val is not None:
        check_labelled(val, "val", list(train.classes))


def fit_steps(model: LoadedModel, train: ImageDataset, *, config: TrainConfig | None = None,
              val: ImageDataset | None = None, out: str | Path | None = None, resume: bool = False,
              test: ImageDataset | None = None) -> Generator[Step, None, TrainingRun]:
    """Train a copy of ``model`` on ``train`` (see the module docstring) as steps: ``done`` of
    ``total`` batches of the current epoch with a :class:`TrainingProgress` (validation and the probe's
    feature cache yield steps of images without one). Raises ValueError for data or settings that cannot
    work, before anything is written. With ``out``, the splits (``train``, ``val`` and the ``test``
    images the run is to be scored on) are recorded there (:func:`~cnnviz.core.training.runs.write_splits`).
    Each epoch seeds torch's global generator (dropout and the
    augmentation draw from it) from ``config.seed`` and the epoch, which makes the history reproducible."""
    config = config or TrainConfig()
    _check_data(train, val)
    trainer = _Trainer(model, train, config, val, Path(out) if out is not None else None)
    first = trainer.resume() if resume else 1
    if out is not None and distributed.rank() == 0:
        runs.write_splits(out, {"train": train, "val": val, "test": test})
    yield from trainer.cache_features()
    epoch, finished = first - 1, True
    try:
        for epoch in range(first, config.epochs + 1):
            finished = False
            train_row = yield from trainer.epoch_steps(epoch)
            if train_row is None:
                finished = True
                break
            trainer.history.append(train_row)
            val_row = yield from trainer.validate(epoch, train_row.lr)
            if val_row is not None:
                trainer.history.append(val_row)
            trainer.remember_best(epoch)
            trainer.save(epoch)
            finished = True
            if trainer.early_stop(epoch):
                break
    finally:
        if not finished:
            trainer.save(epoch, partial=True)
    return trainer.result()


def fit(model: LoadedModel, train: ImageDataset, *, config: TrainConfig | None = None,
        val: ImageDataset | None = None, out: str | Path | None = None, resume: bool = False,
        test: ImageDataset | None = None, progress: ProgressFn | None = None) -> TrainingRun:
    """:func:`fit_steps` run to its end; ``progress(done, total)`` returning False cancels
    (:class:`~cnnviz.core.Cancelled`, after writing the partial checkpoint)."""
    return run_to_end(fit_steps(model, train, config=config, val=val, out=out, resume=resume, test=test), progress)
