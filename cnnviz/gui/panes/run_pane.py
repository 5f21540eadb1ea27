"""What the panes that run one long job at a time have in common (Occlusion, Invariance, Deep dream).

A :class:`RunPane` owns the Run and Cancel buttons with their keys, a progress bar that shows the
elapsed time and an estimate of the time left, and a "PARTIAL" label for a result that a cancelled
or failed run left incomplete. A subclass implements :meth:`RunPane.run` (start a run with the
current settings), calls :meth:`RunPane.start` with the job and the request it answers, and
overrides the hooks :meth:`~RunPane.on_partial`, :meth:`~RunPane.on_done`, :meth:`~RunPane.on_error`,
:meth:`~RunPane.on_cancelled` and :meth:`~RunPane.on_ended`. Only the latest run reaches the
hooks: what a superseded run still delivers is dropped. Requests are small frozen dataclasses
compared with :func:`~cnnviz.gui.panes.tool_pane.same_request`.
"""

import functools
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from cnnviz.core.models import LoadedModel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.shortcuts import add_shortcut

RUN_JOB = "run"
PARTIAL_STYLE = ("QLabel { color: white; background: #c62828; font-weight: bold; padding: 2px 6px; "
                 "border-radius: 3px; }")


def clock(seconds: float) -> str:
    """``seconds`` (≥ 0) as m:ss, or h:mm:ss from an hour on."""
    minutes, secs = divmod(round(max(0.0, seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(done: int, total: int, unit: str, elapsed_s: float, rate: bool = False) -> str:
    """"done / total unit · m:ss elapsed · m:ss left": the time left assumes the remaining
    ``total - done`` items take as long each as the ``done`` ones did (only shown between the first
    and the last). ``rate`` adds " · N unit/s" once items are done."""
    text = f"{done} / {total} {unit} · {clock(elapsed_s)} elapsed"
    if rate and done > 0 and elapsed_s > 0:
        text += f" · {done / elapsed_s:.3g} {unit}/s"
    if 0 < done < total:
        text += f" · {clock(elapsed_s * (total - done) / done)} left"
    return text


def starting_text(planned: int | None, unit: str) -> str:
    """What the progress shows from a run's start until its first report: "0 / planned unit ·
    starting…", or "starting…" when the count is not known before the run."""
    return f"0 / {planned} {unit} · starting…" if planned else "starting…"


class RunPane(ToolPane):
    """Base of the panes that run a job; see the module docstring.

    ``unit`` names what the progress counts ("positions"); ``run_title``/``cancel_title`` label the
    buttons and ``run_key``/``cancel_key`` are their shortcuts within the pane; ``rate`` adds the
    items per second to the progress; ``layer_keys`` as for :class:`ToolPane`.
    Attributes: ``run_request`` (the request of the latest run, None before any), ``outcome``
    ("" before any run, then "running", "done", "cancelled" or "failed").
    """

    def __init__(self, context: PaneContext, key: str, list_layers: Callable[[LoadedModel], list[LayerChoice]],
                 parent: QWidget | None = None, *, unit: str, run_title: str = "Run",
                 cancel_title: str = "Cancel", run_key: str = "Ctrl+R", cancel_key: str = "Esc",
                 rate: bool = False, layer_keys: bool = True) -> None:
        super().__init__(context, key, list_layers, parent, layer_keys=layer_keys)
        self.unit = unit
        self.rate = rate
        self.run_button = QPushButton(run_title)
        self.run_button.setToolTip(f"{run_title} with the current settings ({run_key})")
        self.cancel_button = QPushButton(cancel_title)
        self.cancel_button.setToolTip(f"{cancel_title} the run, keeping what it computed ({cancel_key})")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(60)
        self.partial_label = QLabel(self)
        self.partial_label.setStyleSheet(PARTIAL_STYLE)
        self.partial_label.hide()
        self.run_request: Any = None
        self.outcome = ""
        self._run_ident = 0
        self._started_at = 0.0
        self.reset_progress()
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        add_shortcut(self, QKeySequence(run_key), self.run)
        add_shortcut(self, QKeySequence(cancel_key), self.cancel)

    @property
    def running(self) -> bool:
        """True while the latest run has not ended."""
        return self.is_running(RUN_JOB)

    @property
    def cancelled(self) -> bool:
        """True when the latest run was cancelled."""
        return self.outcome == "cancelled"

    def run(self) -> None:
        """Start a run with the current settings (subclasses; the Run button and key call it)."""
        raise NotImplementedError

    def start(self, task: Callable[..., Any], request: Any, *args: Any, text: str = "Running…",
              planned: int | None = None, **kwargs: Any) -> int:
        """Run ``task(*args, **kwargs)`` (a generator of ``(done, total, …)`` items or a plain call) on
        the compute worker as the pane's run for ``request``, replacing a running one; returns the
        run's ident. Its items go to :meth:`on_partial`, its outcome to the other hooks. ``planned``:
        how many units the run will count, when known before it starts (shown until the first report)."""
        self.run_request = request
        self.outcome = "running"
        self._started_at = time.monotonic()
        self.progress.setRange(0, max(1, planned or 0))
        self.progress.setValue(0)
        self.progress.setFormat(starting_text(planned, self.unit))
        job = functools.partial(task, *args, **kwargs)
        handle = self.submit(RUN_JOB, text, job, done=lambda result: self._if_current(ident, self.on_done, result))
        ident = handle.ident
        self._run_ident = ident
        handle.progress.connect(lambda done, total: self._progressed(ident, done, total))
        handle.partial.connect(lambda item: self._if_current(ident, self.on_partial, item))
        handle.failed.connect(lambda error: self._if_current(ident, self._failed, error))
        handle.cancelled.connect(lambda: self._if_current(ident, self._cancelled))
        handle.finished.connect(lambda: self._if_current(ident, self._ended))
        self.cancel_button.setEnabled(True)
        self.update_partial()
        return ident

    def cancel(self) -> None:
        """Stop the running job; what it computed so far stays (marked PARTIAL where incomplete)."""
        self.controller.compute.cancel(f"{self.key}:{RUN_JOB}")

    def on_partial(self, item: Any) -> None:
        """The latest run yielded ``item`` (subclasses)."""

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
        progress = self.partial_progress()
        if progress is None or progress[0] >= progress[1] or self.outcome == "running":
            self.partial_label.hide()
            return
        state = self.outcome if self.outcome in ("cancelled", "failed") else "stopped"
        self.partial_label.setText(f"PARTIAL — {progress[0]} of {progress[1]} {self.unit} ({state})")
        self.partial_label.show()

    def figure_partial(self) -> bool:
        """True while the result shown is incomplete (:meth:`partial_progress`), or, for a pane that keeps
        no count, while the latest run goes on or after it was cancelled or failed."""
        progress = self.partial_progress()
        if progress is not None:
            return progress[0] < progress[1]
        return self.outcome in ("running", "cancelled", "failed")

    def reset_progress(self, text: str = "") -> None:
        """Empty the progress bar, showing ``text`` (e.g. how to start a run)."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def run_row(self, *widgets: QWidget) -> QHBoxLayout:
        """A row with the Run and Cancel buttons, ``widgets`` and the progress bar (stretching)."""
        row = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, *widgets):
            row.addWidget(widget)
        row.addWidget(self.progress, 1)
        return row

    def _if_current(self, ident: int, hook: Callable[..., None], *args: Any) -> None:
        if ident == self._run_ident:
            hook(*args)

    def _progressed(self, ident: int, done: int, total: int) -> None:
        if ident != self._run_ident:
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self.progress.setFormat(progress_text(done, total, self.unit, time.monotonic() - self._started_at,
                                              self.rate))

    def _failed(self, error: Exception) -> None:
        self.outcome = "failed"
        self.on_error(error)

    def _cancelled(self) -> None:
        self.outcome = "cancelled"
        self.on_cancelled()

    def _ended(self) -> None:
        if self.outcome == "running":
            self.outcome = "done"
        self.cancel_button.setEnabled(False)
        self.update_partial()
        self.on_ended()
