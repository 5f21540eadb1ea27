"""The Training pane's background work: a run (split, train, score; on the dataset worker with a copy of the
model) that can be paused between batches, resuming a stopped run on its recorded splits, and reading the runs
folder."""

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model import models
from cnnviz.core.progress import Step
from cnnviz.core.settings import from_json
from cnnviz.core.training import results
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.loop import TrainingProgress, TrainingRun, fit_steps
from cnnviz.core.training.runs import RunRecord, list_runs, open_run, read_splits, run_labels
from cnnviz.core.training.splits import SplitSettings, split

PAUSE_TICK_S = 0.1
"""How often a paused run yields (so that Stop is seen within the worker's cancel time)."""


class PauseGate:
    """Set from the GUI thread, read by the training thread between batches."""

    def __init__(self) -> None:
        self._paused = threading.Event()

    @property
    def paused(self) -> bool:
        """True while the run should wait."""
        return self._paused.is_set()

    def set(self, paused: bool) -> None:
        """Pause (True) or let go on (False)."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()


def relayed(steps: Generator[Step, None, Any], each: Callable[[Step], Iterator[Step]]) -> Generator[Step, None, Any]:
    """The steps ``each(step)`` gives for every step of ``steps``; returns what ``steps`` returns (closed at the
    end, or when this generator is)."""
    try:
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            yield from each(step)
    finally:
        steps.close()


def pausable(steps: Generator[Step, None, Any], gate: PauseGate) -> Generator[Step, None, Any]:
    """``steps`` passed on, waiting after each while ``gate`` is paused (yielding a "paused" step every
    :data:`PAUSE_TICK_S`, so that a Stop is not held up); returns what ``steps`` returns."""

    def then_wait(step: Step) -> Iterator[Step]:
        yield step
        while gate.paused:
            time.sleep(PAUSE_TICK_S)
            yield Step(step.done, step.total, step.partial, "paused")

    return (yield from relayed(steps, then_wait))


def overall(steps: Generator[Step, None, Any]) -> Generator[Step, None, Any]:
    """``steps`` of a run counted over the whole run: a batch step becomes batches done of all the run's
    batches (with its :class:`~cnnviz.core.training.TrainingProgress`); the other steps (validation, scores,
    the probe's feature cache) only say what is happening."""

    def counted(step: Step) -> Iterator[Step]:
        progress = step.partial
        if isinstance(progress, TrainingProgress):
            done = (progress.epoch - 1) * progress.batches + progress.batch
            yield Step(done, progress.epochs * progress.batches, progress, step.message)
        else:
            yield Step(0, 0, None, step.message or "scoring")

    return (yield from relayed(steps, counted))


@dataclass(frozen=True, eq=False)
class RunPlan:
    """One run to start: ``dataset`` split by ``split_settings`` (ignored for a dataset that came split),
    trained with ``config`` into ``folder``."""

    dataset: ImageDataset
    split_settings: SplitSettings
    config: TrainConfig
    folder: Path


def train_job(model: Any, plan: RunPlan, gate: PauseGate) -> Generator[Step, None, TrainingRun]:
    """Split, train (a copy of ``model``) and score the validation and test splits into ``plan.folder``."""
    train, val, test = split(plan.dataset, plan.split_settings.fractions(), seed=plan.split_settings.split_seed)
    steps = results.train_and_score_steps(model, train, val, test, config=plan.config, out=plan.folder)
    return (yield from pausable(overall(steps), gate))


def resume_job(model: Any, record: RunRecord, epochs: int, gate: PauseGate) -> Generator[Step, None, TrainingRun]:
    """Go on training ``record``'s run to ``epochs`` epochs from its last whole epoch, on its recorded splits,
    then score them again. The run's base model is rebuilt from its spec (``model``, the current one, is used
    for a run whose base was given as a Python object)."""
    splits = read_splits(record.folder)
    spec = record.base.get("spec")
    base = models.load(str(spec), pretrained=False, arch=record.base.get("arch")) if spec else model
    if "train" not in splits:
        raise ValueError(f"{record.folder} recorded no splits, so it cannot be resumed here; use cnnviz train "
                         "--resume with the same data")
    recorded, dropped = from_json(TrainConfig, record.config)
    if dropped:
        raise ValueError(f"{record.folder}: its settings cannot be read back ({'; '.join(dropped.values())})")
    config = replace(recorded, epochs=max(epochs, max(record.epochs, default=0)))
    steps = fit_steps(base, splits["train"], config=config, val=splits.get("val"), out=record.folder, resume=True,
                      test=splits.get("test"))
    run = yield from pausable(overall(steps), gate)
    if not run.diverged:
        rows = yield from results.score_steps(run, {"val": splits.get("val"), "test": splits.get("test")},
                                              batch_size=config.batch_size, workers=config.workers)
        results.write_results(run, rows, record.folder)
    return run


def read_runs(root: Path) -> tuple[list[RunRecord], list[str], list[str]]:
    """The runs of ``root`` (newest first), their labels, and one line per folder that could not be read."""
    records, problems = [], []
    for folder in list_runs(root):
        try:
            records.append(open_run(folder))
        except (OSError, ValueError) as error:
            problems.append(f"{folder.name}: {error}")
    return records, run_labels(records) if records else [], problems
