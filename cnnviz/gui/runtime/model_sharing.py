"""Long dataset jobs (scans, feature extraction, training) beside the per-image work on the same model.

The compute worker runs every per-image job while holding the controller's model lock, so no two jobs see
each other's hooks. A dataset job runs on its own worker through :func:`on_own_copy`: it takes the lock
only while it copies the model (waiting, cancellably, for the per-image job running then), and works on
the copy, so the per-image panes keep working while it runs. A model too large to copy (see
:func:`~cnnviz.core.model.model_copy.copy_fits`) is used itself, with the lock held until the job ends:
the per-image panes then wait, as they would for any compute job.
"""

import threading
from collections.abc import Callable, Generator
from typing import Any

from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.model.model_copy import copy_fits, model_copy
from cnnviz.core.progress import Step

LOCK_POLL_S = 0.05
"""Seconds between two tries to take the model lock (a cancel is seen between them)."""

WAITING = "waiting for the model…"
"""The message of the steps yielded while another job holds the model."""

SHARED = "the model is too large to copy: the other tools wait for this job"
"""The message of the step yielded when the job works on the model itself."""


def on_own_copy(lock: threading.Lock, function: Callable[..., Any], model: LoadedModel, *args: Any,
                **kwargs: Any) -> Generator[Step, None, Any]:
    """Run ``function(copy, *args, **kwargs)`` on a copy of ``model`` made while holding ``lock``; a
    generator ``function``'s steps are passed on and its return value returned. While the lock is taken,
    yields ``Step(0, 0, None, WAITING)`` every :data:`LOCK_POLL_S` s (so the job can be cancelled);
    without memory for a copy it runs on ``model`` with the lock held throughout (one ``SHARED`` step)."""
    while not lock.acquire(timeout=LOCK_POLL_S):
        yield Step(0, 0, None, WAITING)
    held = True
    try:
        if copy_fits(model):
            work = model_copy(model)
            lock.release()
            held = False
        else:
            work = model
            yield Step(0, 0, None, SHARED)
        result = function(work, *args, **kwargs)
        if isinstance(result, Generator):
            result = yield from result
        return result
    finally:
        if held:
            lock.release()
