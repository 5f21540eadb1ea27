"""The background side of the Deep dream pane: the dream analysis as a worker job, steered while it runs and
paused between steps.

:func:`dream_job` drives :func:`cnnviz.analyses.dream.run` on the compute worker. The run reads its settings
from a :class:`SettingsBox` once per step: the GUI thread swaps in whole new frozen
:class:`~cnnviz.analyses.dream.Settings` (never changing one), so a new layer, step size, objective or
regularisation applies from the next step and no step mixes two settings. Each step's ``partial`` is the
whole partial :class:`~cnnviz.analyses.dream.DreamAnalysis` (every step so far), so the worker may forward
only the latest one; the job also keeps it in a :class:`LatestStep`, which the pane reads when the run ends
(a step yielded just before a Stop is not forwarded). A step made in tiles yields the latest step again after
each tile, so a Stop gets through between tiles and the pause gate also holds there. While the gate is closed
the job waits, yielding the latest step again every :data:`PAUSE_POLL_S` seconds so that a cancel (Stop) still
gets through.
"""

import threading
from collections.abc import Generator

from cnnviz.analyses import dream
from cnnviz.analyses.base import Source
from cnnviz.analyses.dream import DreamAnalysis, Settings
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.progress import Step

PAUSE_POLL_S = 0.05
"""How often a paused job checks for resume or cancel, in seconds."""


class SettingsBox:
    """The settings a running dream reads: the GUI thread swaps in whole new frozen settings with :meth:`set`
    (one assignment), and the run calls the box once per step."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def set(self, settings: Settings) -> None:
        """Make ``settings`` the ones the next step reads (GUI thread)."""
        self._settings = settings

    def __call__(self) -> Settings:
        """The current settings (job thread)."""
        return self._settings


class LatestStep:
    """The latest step a job yielded (written by the job thread, one assignment; read by the GUI thread once
    the job ended). ``step`` is None before the first."""

    def __init__(self) -> None:
        self.step: Step | None = None


def dream_job(model: LoadedModel, source: Source, settings: SettingsBox, gate: threading.Event,
              latest: LatestStep) -> Generator[Step, None, DreamAnalysis]:
    """Dream ``source`` with ``model`` (compute worker), reading ``settings`` once per step; yields each step
    of :func:`cnnviz.analyses.dream.run` (its ``partial`` the result so far; the same step again after each
    tile of a tiled step), also kept in ``latest``; waits between them while ``gate`` is clear (paused).
    Returns the finished result."""
    steps = dream.run(model, source, settings)
    try:
        while True:
            while not gate.wait(PAUSE_POLL_S):
                yield latest.step or Step(0, 0)
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            latest.step = step
            yield step
    finally:
        steps.close()
