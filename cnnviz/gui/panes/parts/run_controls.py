"""The controls of a pane that runs one long job at a time: Run and Cancel, the progress, PARTIAL.

A :class:`RunControls` owns the Run and Cancel buttons with their keys (within the pane), a progress bar
that shows the elapsed time and an estimate of the time left, and a "PARTIAL" label for a result that a
cancelled or failed run left incomplete. The pane tells it when a run starts (:meth:`RunControls.started`),
reports (:meth:`RunControls.progressed`) and ends (:meth:`RunControls.ended`); the run itself, and which run
is the latest, are the pane's (:class:`~cnnviz.gui.panes.run_pane.RunPane`).
"""

import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from cnnviz.gui.widgets.shortcuts import add_shortcut

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


def partial_text(progress: tuple[int, int] | None, outcome: str, unit: str) -> str:
    """The PARTIAL label for a result of ``progress`` (done, total) ``unit`` left by a run whose outcome is
    ``outcome`` ("running", "done", "cancelled", "failed" or ""): "PARTIAL — done of total unit (state)",
    or "" when there is nothing to mark (no result, a complete one, or a run still filling it in)."""
    if progress is None or progress[0] >= progress[1] or outcome == "running":
        return ""
    state = outcome if outcome in ("cancelled", "failed") else "stopped"
    return f"PARTIAL — {progress[0]} of {progress[1]} {unit} ({state})"


class RunControls(QObject):
    """Run/Cancel buttons, progress and PARTIAL label of ``owner`` (the pane); see the module docstring.

    ``unit`` names what the progress counts ("positions"); ``run_title``/``cancel_title`` label the
    buttons and ``run_key``/``cancel_key`` are their shortcuts within ``owner``, calling ``run()`` and
    ``cancel()``; ``rate`` adds the items per second to the progress. Attributes: ``run_button``,
    ``cancel_button``, ``progress`` (a ``QProgressBar``), ``partial_label``, ``unit``, ``rate``.
    """

    def __init__(self, owner: QWidget, unit: str, *, run: Callable[[], None], cancel: Callable[[], None],
                 run_title: str = "Run", cancel_title: str = "Cancel", run_key: str = "Ctrl+R",
                 cancel_key: str = "Esc", rate: bool = False) -> None:
        super().__init__(owner)
        self.unit = unit
        self.rate = rate
        self.run_button = QPushButton(run_title)
        self.run_button.setToolTip(f"{run_title} with the current settings ({run_key})")
        self.cancel_button = QPushButton(cancel_title)
        self.cancel_button.setToolTip(f"{cancel_title} the run, keeping what it computed ({cancel_key})")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(60)
        self.partial_label = QLabel(owner)
        self.partial_label.setStyleSheet(PARTIAL_STYLE)
        self.partial_label.hide()
        self._started_at = 0.0
        self.reset_progress()
        self.run_button.clicked.connect(run)
        self.cancel_button.clicked.connect(cancel)
        add_shortcut(owner, QKeySequence(run_key), run, run_title)
        add_shortcut(owner, QKeySequence(cancel_key), cancel, f"{cancel_title} the run")

    def started(self, planned: int | None = None) -> None:
        """A run started: the clock starts, the progress says "starting…" (with ``planned`` units when
        known) and Cancel is enabled."""
        self._started_at = time.monotonic()
        self.progress.setRange(0, max(1, planned or 0))
        self.progress.setValue(0)
        self.progress.setFormat(starting_text(planned, self.unit))
        self.cancel_button.setEnabled(True)

    def progressed(self, done: int, total: int) -> None:
        """The run reported ``done`` of ``total`` units: show them with the elapsed and remaining time
        (nothing before it counts any: ``total`` 0)."""
        if total <= 0:
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self.progress.setFormat(progress_text(done, total, self.unit, time.monotonic() - self._started_at,
                                              self.rate))

    def say(self, text: str) -> None:
        """Show ``text`` in the progress bar (what the run waits for before it counts anything)."""
        self.progress.setFormat(text)

    def ended(self) -> None:
        """The run ended: Cancel is disabled (the progress keeps its last report)."""
        self.cancel_button.setEnabled(False)

    def show_partial(self, progress: tuple[int, int] | None, outcome: str) -> None:
        """Show the PARTIAL label for a result of ``progress`` (done, total) left by a run of ``outcome``
        (:func:`partial_text`), or hide it when there is nothing to mark."""
        text = partial_text(progress, outcome, self.unit)
        if text:
            self.partial_label.setText(text)
        self.partial_label.setVisible(bool(text))

    def reset_progress(self, text: str = "") -> None:
        """Empty the progress bar, showing ``text`` (e.g. how to start a run)."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def row(self, *widgets: QWidget) -> QHBoxLayout:
        """A row with the Run and Cancel buttons, ``widgets`` and the progress bar (stretching)."""
        row = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, *widgets):
            row.addWidget(widget)
        row.addWidget(self.progress, 1)
        return row
