"""What the panes that run one long job at a time have in common (Occlusion, Invariance, Deep dream, …).

A :class:`RunPane` is a :class:`~cnnviz.gui.panes.tool_pane.ToolPane` with ``run_controls``
(:class:`~cnnviz.gui.panes.parts.run_controls.RunControls`): the Run and Cancel buttons with their keys, a
progress bar that shows the elapsed time and an estimate of the time left, and a "PARTIAL" label for a
result that a cancelled or failed run left incomplete. A subclass implements :meth:`RunPane.run` (start a
run with the current settings), calls :meth:`RunPane.start` with the job and the request it answers, and
overrides the hooks :meth:`~RunPane.on_partial`, :meth:`~RunPane.on_done`, :meth:`~RunPane.on_error`,
:meth:`~RunPane.on_cancelled` and :meth:`~RunPane.on_ended`. Only the latest run reaches the
hooks: what a superseded run still delivers is dropped. Requests are small frozen dataclasses
compared with :func:`~cnnviz.gui.panes.tool_pane.same_request`.
"""

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from cnnviz.core.progress import Step
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.parts.layer_binding import ListLayers
from cnnviz.gui.panes.parts.run_controls import RunControls
from cnnviz.gui.panes.parts.run_controls import clock as clock
from cnnviz.gui.panes.parts.run_controls import progress_text as progress_text
from cnnviz.gui.panes.tool_pane import ToolPane

RUN_JOB = "run"


class RunPane(ToolPane):
    """Base of the panes that run a job; see the module docstring.

    ``unit``, ``run_title``, ``cancel_title``, ``run_key``, ``cancel_key`` and ``rate`` as for
    :class:`~cnnviz.gui.panes.parts.run_controls.RunControls`; ``layer_keys`` and ``share_layer`` as for
    :class:`ToolPane`. Attributes: ``run_controls`` and its widgets ``run_button``, ``cancel_button``,
    ``progress`` and ``partial_label``; ``run_request`` (the request of the latest run, None before any),
    ``outcome`` ("" before any run, then "running", "done", "cancelled" or "failed").
    """

    def __init__(self, context: PaneContext, key: str, list_layers: ListLayers, parent: QWidget | None = None, *,
                 unit: str, run_title: str = "Run", cancel_title: str = "Cancel", run_key: str = "Ctrl+R",
                 cancel_key: str = "Esc", rate: bool = False, layer_keys: bool = True,
                 share_layer: bool = True) -> None:
        super().__init__(context, key, list_layers, parent, layer_keys=layer_keys, share_layer=share_layer)
        self.run_controls = RunControls(self, unit, run=self.run, cancel=self.cancel, run_title=run_title,
                                        cancel_title=cancel_title, run_key=run_key, cancel_key=cancel_key, rate=rate)
        controls = self.run_controls
        self.run_button, self.cancel_button = controls.run_button, controls.cancel_button
        self.progress, self.partial_label = controls.progress, controls.partial_label
        self.run_request: Any = None
        self.outcome = ""
        self._run_ident = 0

    @property
    def running(self) -> bool:
        """True while the latest run has not ended."""
        return self.jobs.is_running(RUN_JOB)

    @property
    def cancelled(self) -> bool:
        """True when the latest run was cancelled."""
        return self.outcome == "cancelled"

    def run(self) -> None:
        """Start a run with the current settings (subclasses; the Run button and key call it)."""
        raise NotImplementedError

    def start(self, task: Callable[..., Any], request: Any, *args: Any, text: str = "Running…",
              planned: int | None = None, on_copy: bool = False, **kwargs: Any) -> int:
        """Run ``task(*args, **kwargs)`` (a generator of :class:`~cnnviz.core.progress.Step` or a plain call)
        on the compute worker as the pane's run for ``request``, replacing a running one; returns the
        run's ident. Its steps go to :meth:`on_partial`, its outcome to the other hooks. ``planned``:
        how many units the run will count, when known before it starts (shown until the first report).
        ``on_copy``: a long dataset job whose first argument is the model, run on the dataset worker with
        a copy of the model, so the other tools keep working (see
        :mod:`~cnnviz.gui.runtime.model_sharing`; what it says while it waits shows in the progress bar)."""
        self.run_request = request
        self.outcome = "running"
        self.run_controls.started(planned)
        job = functools.partial(task, **kwargs)
        handle = self.jobs.submit(RUN_JOB, text, job, *args, on_copy=on_copy,
                                  done=lambda result: self._if_current(ident, self.on_done, result))
        ident = handle.ident
        self._run_ident = ident
        handle.progress.connect(lambda done, total: self._if_current(ident, self.run_controls.progressed, done, total))
        handle.partial.connect(lambda item: self._if_current(ident, self._stepped, item))
        handle.failed.connect(lambda error: self._if_current(ident, self._failed, error))
        handle.cancelled.connect(lambda: self._if_current(ident, self._cancelled))
        handle.finished.connect(lambda: self._if_current(ident, self._ended))
        self.update_partial()
        return ident

    def cancel(self) -> None:
        """Stop the running job; what it computed so far stays (marked PARTIAL where incomplete)."""
        self.jobs.cancel(RUN_JOB)

    def on_partial(self, item: Any) -> None:
        """The latest run yielded the :class:`~cnnviz.core.progress.Step` ``item`` (subclasses)."""

    def on_done(self, result: Any) -> None:
        """The latest run returned ``result`` (subclasses)."""

    def on_error(self, error: Exception) -> None:
        """The latest run failed with ``error`` (already shown on the info line) (subclasses)."""

    def on_cancelled(self) -> None:
        """The latest run was cancelled (subclasses)."""

    def on_ended(self) -> None:
        """The latest run ended, whatever its outcome, after the other hooks (subclasses)."""

    def partial_progress(self) -> tuple[int, int] | None:
        """(done, total) of the result shown, None when none is (subclasses that keep partial results)."""
        return None

    def update_partial(self) -> None:
        """Show "PARTIAL — done of total unit (state)" while the result shown is incomplete and no run
        is filling it in (the progress bar tells how far a running one is)."""
        self.run_controls.show_partial(self.partial_progress(), self.outcome)

    def figure_partial(self) -> bool:
        """True while the result shown is incomplete (:meth:`partial_progress`), or, for a pane that keeps
        no count, while the latest run goes on or after it was cancelled or failed."""
        progress = self.partial_progress()
        if progress is not None:
            return progress[0] < progress[1]
        return self.outcome in ("running", "cancelled", "failed")

    def _if_current(self, ident: int, hook: Callable[..., None], *args: Any) -> None:
        if ident == self._run_ident:
            hook(*args)

    def _stepped(self, item: Any) -> None:
        if isinstance(item, Step) and item.total == 0 and item.partial is None and item.message:
            self.run_controls.say(item.message)
        else:
            self.on_partial(item)

    def _failed(self, error: Exception) -> None:
        self.outcome = "failed"
        self.on_error(error)

    def _cancelled(self) -> None:
        self.outcome = "cancelled"
        self.on_cancelled()

    def _ended(self) -> None:
        if self.outcome == "running":
            self.outcome = "done"
        self.run_controls.ended()
        self.update_partial()
        self.on_ended()
