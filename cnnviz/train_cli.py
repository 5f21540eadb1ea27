"""``cnnviz train`` and ``cnnviz probe``: training and layer-wise probes from the command line, without Qt.

``cnnviz train`` trains a copy of ``--model`` on a labelled folder (or Fashion-MNIST) by a
:class:`~cnnviz.core.training.TrainConfig` built from ``--mode``, ``--epochs`` and ``--set`` values,
prints each epoch on stderr, and ends with the course table (log-loss, top-1 and top-3 for train,
validation and test), printed and written beside the run as ``results.csv`` / ``results.json``
with the history as ``history.csv``. Under ``torchrun`` the processes train data-parallel and only
rank 0 prints and writes. ``cnnviz probe`` writes the layer-wise probe table as CSV. Exit status: 0
on success, 2 for a bad argument (nothing is computed), 1 when training failed or stopped on a loss
that is not finite.
"""

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from cnnviz.core import settings
from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.progress import Step
from cnnviz.core.tables import csv_text
from cnnviz.core.training import distributed, split
from cnnviz.core.training.config import MODES, TrainConfig
from cnnviz.core.training.layer_probes import probe_layers
from cnnviz.core.training.loop import TrainingProgress, TrainingRun, fit_steps
from cnnviz.core.training.metrics import Metrics, evaluate
from cnnviz.core.training.results import write_results
from cnnviz.run_args import ArgumentError, Parser, add_model_arguments, parse_sets
from cnnviz.run_cli import fail, load_model

tqdm.monitor_interval = 0  # no monitor thread: a second thread makes DataLoader workers start by "spawn"
FASHION_MNIST_VAL = 0.1
"""Share of the Fashion-MNIST training images kept for validation by ``--fashion-mnist``."""
EPILOG = """examples:
  cnnviz train --model default --fashion-mnist --limit 6000 --mode scratch --epochs 5 --out runs/fm
  cnnviz train --model squeezenet.py --data photos/ --mode finetune --set lr=0.001 --set augment=hflip,rotate:10 \\
               --out runs/photos
  torchrun --nproc_per_node=2 -m cnnviz train --model default --fashion-mnist --mode scratch --out runs/ddp
  cnnviz probe --model default --fashion-mnist --limit 2000 --out probe.csv

A folder with train/, val/ and test/ subfolders (one folder per class in each) gives those splits;
any other class-per-folder root is split by --split (stratified, seeded). Every epoch leaves a
checkpoint folder in --out that `cnnviz --model RUN/epoch-003` opens like any model.
exit status: 0 on success, 2 for a bad argument (nothing is computed), 1 when training failed.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, "where to train")
    add = parser.add_argument
    add("--data", metavar="DIR", help="a labelled image folder (one subfolder per class, or train/ val/ test/)")
    add("--fashion-mnist", action="store_true", help="Fashion-MNIST: its train split (less a tenth for "
        "validation) and its test split")
    add("--test", metavar="DIR", type=Path, help="a labelled folder of test images (instead of a split)")
    add("--split", metavar="TRAIN,VAL,TEST", default="0.7,0.2,0.1",
        help="shares of a folder that is not split yet (default: 0.7,0.2,0.1)")
    add("--limit", metavar="N", type=int, help="use only the first N images of each split given")
    add("--seed", metavar="N", type=int, default=0, help="seed of the split (default: 0)")
    add("--workers", metavar="N", type=int, help="DataLoader worker processes (default: one per core but one)")
    add("--verbose", action="store_true", help="show the traceback of a failure")


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``cnnviz train`` or ``cnnviz probe``."""
    parser = Parser(prog=f"cnnviz {command}", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                     description="Train a copy of a model on labelled images, with a checkpoint per epoch."
                     if command == "train" else "Score a linear classifier on each layer's frozen features.")
    _common(parser)
    add = parser.add_argument
    if command == "train":
        add("--val", metavar="DIR", type=Path, help="a labelled folder of validation images (instead of a split)")
        add("--mode", choices=MODES, default="finetune", help="probe, finetune (the default) or scratch")
        add("--epochs", metavar="N", type=int, help="passes over the training images (default: 10)")
        add("--set", metavar="NAME=VALUE", action="append", default=[], dest="sets",
            help="any training setting (repeatable): " + ", ".join(e.name for e in settings.infos(TrainConfig)))
        add("--out", metavar="RUN", type=Path, required=True, help="the run folder (created if missing)")
        add("--resume", action="store_true", help="go on from the last whole epoch in --out")
    else:
        add("--layers", metavar="A,B", help="the layers to probe (default: up to 8 spread over the depth)")
        add("--pooling", choices=("avg", "max", "gem", "flatten"), default="avg", help="per-channel pooling")
        add("--out", metavar="CSV", type=Path, required=True, help="the table to write")
    return parser


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of ``--mode``, ``--epochs``, ``--device``, ``--workers`` and ``--set``."""
    texts = parse_sets(args.sets)
    texts.setdefault("mode", args.mode)
    texts.setdefault("device", args.device)
    if args.epochs is not None:
        texts.setdefault("epochs", str(args.epochs))
    if args.workers is not None:
        texts.setdefault("workers", str(args.workers))
    try:
        return settings.from_texts(TrainConfig, texts)
    except (KeyError, ValueError) as error:
        raise ArgumentError(f"--set: {str(error).strip(chr(39))}") from None


def _open(text: str | Path, limit: int | None, role: str) -> ImageDataset:
    try:
        dataset = datasets.open_folder(Path(text).expanduser())
    except (OSError, ValueError) as error:
        raise ArgumentError(f"--{role} {text}: {error}") from None
    return _limited(dataset, limit)


def _limited(dataset: ImageDataset, limit: int | None) -> ImageDataset:
    if limit is None or limit >= len(dataset):
        return dataset
    return dataset.subset(range(limit), dataset.name)


def _limited_or_none(dataset: ImageDataset | None, limit: int | None) -> ImageDataset | None:
    return None if dataset is None else _limited(dataset, limit)


def _shares(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ArgumentError(f"--split {text!r}: expected shares such as 0.7,0.2,0.1") from None


def open_splits(args: argparse.Namespace) -> tuple[ImageDataset, ImageDataset | None, ImageDataset | None]:
    """(train, val, test) from ``--data`` / ``--fashion-mnist``, ``--val``, ``--test``, ``--split``, ``--limit``."""
    if bool(args.data) == bool(args.fashion_mnist):
        raise ArgumentError("give the training images with --data DIR or --fashion-mnist (one of them)")
    try:
        if args.fashion_mnist:
            whole = datasets.fashion_mnist("train", limit=args.limit and round(args.limit / (1 - FASHION_MNIST_VAL)))
            train, val, _ = split(whole, (1 - FASHION_MNIST_VAL, FASHION_MNIST_VAL), seed=args.seed)
            test: ImageDataset | None = datasets.fashion_mnist("test", limit=args.limit)
        else:
            train, val, test = split(_open(args.data, None, "data"), _shares(args.split), seed=args.seed)
            train = _limited(train, args.limit)
            val, test = _limited_or_none(val, args.limit), _limited_or_none(test, args.limit)
    except (OSError, ValueError) as error:
        raise ArgumentError(str(error)) from None
    if getattr(args, "val", None):
        val = _open(args.val, args.limit, "val")
    if args.test:
        test = _open(args.test, args.limit, "test")
    assert train is not None
    return train, val, test


def _say(text: str) -> None:
    if distributed.rank() == 0:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def epoch_line(run_rows: Sequence, epoch: int, epochs: int, began: float, images: int) -> str:
    """The stderr line after ``epoch``: loss, top-1, top-3 per split, images/s and time left."""
    parts = [f"{row.split} loss {row.loss:.4f} top-1 {row.top1:.3f} top-3 {row.top3:.3f}"
             for row in run_rows if row.epoch == epoch]
    spent = time.monotonic() - began
    rate = images / spent if spent > 0 else 0.0
    left = spent / max(epoch, 1) * (epochs - epoch)
    return f"epoch {epoch}/{epochs}: " + " · ".join(parts) + f" · {rate:.0f} images/s · {left:.0f} s left"


def train_with_progress(model, train: ImageDataset, val: ImageDataset | None, config: TrainConfig, out: Path,
                        resume: bool, test: ImageDataset | None = None) -> TrainingRun:
    """Run :func:`~cnnviz.core.training.fit_steps`, a batch bar and a line per epoch on stderr (rank 0)."""
    steps = fit_steps(model, train, config=config, val=val, out=out, resume=resume, test=test)
    began, shown, bar, bar_epoch = time.monotonic(), 0, None, 0
    try:
        while True:
            step: Step = next(steps)
            progress = step.partial
            if not isinstance(progress, TrainingProgress):
                continue
            if progress.history and progress.history[-1].epoch > shown:
                shown = progress.history[-1].epoch
                _say(epoch_line(progress.history, shown, config.epochs, began, len(train) * shown))
            if bar is None and distributed.rank() == 0:
                bar = tqdm(total=progress.batches, desc="batches", unit="batch", file=sys.stderr, leave=False)
            if bar is not None:
                if progress.epoch != bar_epoch:
                    bar_epoch = progress.epoch
                    bar.reset(total=progress.batches)
                    bar.set_description(f"epoch {progress.epoch}")
                bar.update(progress.batch - bar.n)
    except StopIteration as stop:
        run: TrainingRun = stop.value
    finally:
        steps.close()
        if bar is not None:
            bar.close()
    if run.history and run.history[-1].epoch > shown:
        _say(epoch_line(run.history, run.history[-1].epoch, config.epochs, began, len(train) * run.history[-1].epoch))
    return run


def results_table(run: TrainingRun, splits: dict[str, ImageDataset | None], workers: int | None) -> list[list]:
    """Rows (split, images, log-loss, top-1, top-3) of the run's model on each split given."""
    rows: list[list] = []
    for name, dataset in splits.items():
        if dataset is not None:
            scores: Metrics = evaluate(run.model, dataset, workers=workers)
            rows.append([name, scores.count, round(scores.loss, 4), round(scores.top1, 4), round(scores.top3, 4)])
    return rows


def print_results(rows: list[list]) -> None:
    """The course table on stdout."""
    width = max(len(str(row[0])) for row in rows) if rows else 5
    lines = [f"{'split':<{width}}  images  log-loss  top-1   top-3"]
    lines += [f"{row[0]:<{width}}  {row[1]:>6}  {row[2]:>8.4f}  {row[3]:.4f}  {row[4]:.4f}" for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def train(args: argparse.Namespace) -> int:
    """``cnnviz train`` with parsed ``args``; returns the exit status."""
    config = config_from(args)
    train_set, val, test = open_splits(args)
    distributed.start_from_environment(config.device)
    try:
        model = load_model(argparse.Namespace(untrained=False, model=args.model, trust=args.trust, device="cpu",
                                              arch=args.arch))
        run = train_with_progress(model, train_set, val, config, args.out, args.resume, test)
        if distributed.rank() == 0:
            rows = results_table(run, {"train": train_set, "val": val, "test": test}, config.workers)
            write_results(run, rows, args.out)
            print_results(rows)
    finally:
        distributed.stop()
    if run.diverged:
        return fail(f"train: {run.stopped}", 1)
    if run.stopped:
        _say(f"stopped early: {run.stopped}")
    return 0


def probe(args: argparse.Namespace) -> int:
    """``cnnviz probe`` with parsed ``args``; returns the exit status."""
    train_set, val, test = open_splits(args)
    test = test or val
    if test is None:
        raise ArgumentError("probe: no test images: give --test DIR or a --split with a test share")
    model = load_model(argparse.Namespace(untrained=False, model=args.model, trust=args.trust, device=args.device,
                                          arch=args.arch))
    layers = [name.strip() for name in args.layers.split(",")] if args.layers else None
    bar = tqdm(desc="probing", unit="step", file=sys.stderr, leave=False)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        scores = probe_layers(model, train_set, test, layers=layers, pooling=args.pooling, workers=args.workers,
                              progress=progress)
    finally:
        bar.close()
    rows = [[name, s.dims, round(s.train_top1, 4), round(s.top1, 4), round(s.top3, 4)] for name, s in scores.items()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(csv_text(["layer", "features", "train top-1", "test top-1", "test top-3"], rows),
                        encoding="utf-8")
    sys.stdout.write("\n".join(f"{row[0]:<28} {row[1]:>6}  test top-1 {row[3]:.4f}  top-3 {row[4]:.4f}"
                               for row in rows) + "\n")
    return 0


def main(command: str, argv: Sequence[str]) -> int:
    """Run ``cnnviz train`` or ``cnnviz probe`` with the arguments after it; returns the exit status."""
    args: argparse.Namespace | None = None
    try:
        args = build_parser(command).parse_args(list(argv))
        return train(args) if command == "train" else probe(args)
    except ArgumentError as error:
        return fail(f"{command}: {error}")
    except OSError as error:
        return fail(f"{command}: {error}", 1)
    except Exception as error:  # a defect or a model that fails: say what, with the traceback on request
        if args is not None and args.verbose:
            traceback.print_exc()
        return fail(f"{command} failed: {type(error).__name__}: {error}", 1)
