"""The background side of the Deep dream pane: the run as a worker job, with pause and lossless steps.

:func:`dream_job` wraps :func:`cnnviz.core.per_image.dream.run` for the compute worker. The worker forwards
only the latest yielded item, throttled, so steps are not handed over in the items themselves: each
step goes into a :class:`StepInbox` that the GUI thread empties whenever an item arrives (and once
more when the job ends), so no step record is lost. While the pause gate is closed the job waits
between steps, yielding a heartbeat every :data:`PAUSE_POLL_S` seconds so that a cancel (Stop)
still gets through. The job reads its settings from a :class:`ConfigBox`, once per step.
"""

import threading
from collections.abc import Generator
from dataclasses import replace

import numpy as np
import torch
from PIL import Image

from cnnviz.core.data.images import to_channels
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import dream
from cnnviz.core.per_image.dream import DreamConfig, DreamStep
from cnnviz.core.progress import Step

PAUSE_POLL_S = 0.05
"""How often a paused job checks for resume or cancel, in seconds."""


class ConfigBox:
    """The config a running dream reads: the GUI thread swaps in a whole new frozen
    :class:`DreamConfig` with :meth:`set` (one assignment), and the job calls the box once per step."""

    def __init__(self, config: DreamConfig) -> None:
        self._config = config

    def set(self, config: DreamConfig) -> None:
        """Make ``config`` the one the next step reads (GUI thread)."""
        self._config = config

    def __call__(self) -> DreamConfig:
        """The current config (job thread)."""
        return self._config


class StepInbox:
    """Steps handed from the job's thread to the GUI thread: every step without its image (a record),
    and the latest step with its image (earlier images are dropped so memory stays bounded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[DreamStep] = []
        self._latest: DreamStep | None = None

    def put(self, step: DreamStep) -> None:
        """Add ``step`` (job thread)."""
        with self._lock:
            self._records.append(replace(step, image=None))
            self._latest = step

    def take(self) -> tuple[list[DreamStep], DreamStep | None]:
        """The records (steps without images) added since the last call, oldest first, and the latest
        step with its image if one was added (GUI thread)."""
        with self._lock:
            records, latest = self._records, self._latest
            self._records, self._latest = [], None
        return records, latest


def dream_job(model: LoadedModel, x: torch.Tensor, config: ConfigBox, gate: threading.Event,
              inbox: StepInbox) -> Generator[Step, None, torch.Tensor]:
    """Run the dream of ``x`` reading ``config`` once per step (compute worker), putting each step's
    record into ``inbox`` and yielding a step whose ``partial`` is ``inbox``; waits between steps while
    ``gate`` is clear (paused) and yields between the tiles of a step too. Returns the final image
    [1, C, h, w]."""
    steps = dream.run_ticks(model, x, config=config)
    done = 0
    try:
        while True:
            while not gate.wait(PAUSE_POLL_S):
                yield Step(done, dream.total_steps(x, config=config()), inbox)
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            if step.partial is dream.Tick:  # between the tiles of a step: a point where a cancel gets through
                yield Step(step.done, step.total, inbox)
                continue
            inbox.put(step.partial)
            done = step.done
            yield Step(done, step.total, inbox)
    finally:
        steps.close()


def full_resolution_input(model: LoadedModel, image: Image.Image) -> torch.Tensor:
    """``image`` at its own size, normalised with the model's mean and std (no resize, no crop):
    [1, C, H, W] on the model's device, for dreaming at full resolution."""
    pixels = np.asarray(to_channels(image, model.in_channels), dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
    mean, std = model.stats("cpu")
    return ((x.unsqueeze(0) - mean) / std).to(model.device)


def start_image(model: LoadedModel, x: torch.Tensor, config: DreamConfig) -> torch.Tensor:
    """The image a run of ``config`` on ``x`` starts from: ``x`` itself or the seeded noise the core
    makes for ``config.start`` (same shape, CPU)."""
    if config.start == "image":
        return x.detach().float().cpu()
    return dream.noise_image(model, x.shape, config.start, config.seed).cpu()
