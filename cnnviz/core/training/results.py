"""What a finished run leaves beside its checkpoints: the course table (log-loss, top-1 and top-3 per
split) as ``results.csv`` and ``results.json`` (with the settings, the history and the checkpoints) and the
history as ``history.csv``; and :func:`train_and_score_steps`, which trains and then scores the splits."""

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.progress import Step
from cnnviz.core.tables import csv_text
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.loop import TrainingRun, fit_steps
from cnnviz.core.training.metrics import evaluate_steps
from cnnviz.core.training.runs import RESULTS_FILE

HEADER = ["split", "images", "log-loss", "top-1", "top-3"]
"""Columns of the course table."""


def write_results(run: TrainingRun, rows: list[list[Any]], out: str | Path) -> Path:
    """``results.csv``, ``results.json`` and ``history.csv`` in ``out`` (created); ``rows``: the course table
    (:data:`HEADER`). Returns ``results.json``'s path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.csv").write_text(csv_text(HEADER, rows), encoding="utf-8")
    history = [row.to_json() for row in run.history]
    (out / "history.csv").write_text(csv_text(list(history[0]) if history else [],
                                              [list(row.values()) for row in history]), encoding="utf-8")
    summary = {"model": run.model.name, "best_epoch": run.best_epoch, "stopped": run.stopped,
               "config": run.config.values(), "results": [dict(zip(HEADER, row)) for row in rows],
               "history": history, "checkpoints": [str(path) for path in run.checkpoints]}
    (out / RESULTS_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return out / RESULTS_FILE


def score_steps(run: TrainingRun, splits: dict[str, ImageDataset | None], *, batch_size: int = 64,
                workers: int | None = None) -> Generator[Step, None, list[list[Any]]]:
    """The course table's rows of ``run.model`` on each split given (None left out), as steps of images."""
    rows: list[list[Any]] = []
    for name, dataset in splits.items():
        if dataset is None:
            continue
        metrics = yield from evaluate_steps(run.model, dataset, batch_size=batch_size, workers=workers)
        rows.append([name, metrics.count, round(metrics.loss, 4), round(metrics.top1, 4), round(metrics.top3, 4)])
    return rows


def train_and_score_steps(model: Any, train: ImageDataset, val: ImageDataset | None, test: ImageDataset | None, *,
                          config: TrainConfig, out: str | Path,
                          scored: tuple[str, ...] = ("val", "test")) -> Generator[Step, None, TrainingRun]:
    """Train a copy of ``model`` into run folder ``out`` (:func:`~cnnviz.core.training.fit_steps`, the splits
    recorded), then score the best checkpoint on the ``scored`` splits and write the results there. A run
    stopped on a loss that is not finite is not scored."""
    run = yield from fit_steps(model, train, config=config, val=val, out=out, test=test)
    if not run.diverged and run.checkpoints:
        splits = {"train": train, "val": val, "test": test}
        rows = yield from score_steps(run, {name: splits[name] for name in scored}, batch_size=config.batch_size,
                                      workers=config.workers)
        write_results(run, rows, out)
    return run
