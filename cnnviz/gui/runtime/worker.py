"""Running core functions off the GUI thread, with progress, cancellation and results on the GUI thread.

A :class:`Worker` owns a thread pool. :meth:`Worker.submit` runs a callable there and returns a
:class:`Task` whose signals arrive on the GUI thread:

- ``progress(done, total)``: reported by the callable (throttled to a few dozen per second; Python
  ints, so byte counts beyond 2**31 pass);
- ``partial(step)``: for a generator job, the latest :class:`~cnnviz.core.progress.Step` it yielded,
  sent along with the progress it carries and throttled the same way, so a step's ``partial`` should
  hold a whole partial result rather than an increment. Reports that arrive faster than the GUI
  thread handles them are coalesced there: each pass of the event loop delivers only a task's latest
  progress and latest partial, so a slow redraw never builds a backlog that freezes the window;
- ``succeeded(result)``, ``failed(exception)`` or ``cancelled()``: exactly one of them;
- ``finished()``: always, last.

A callable either takes a ``progress`` keyword (``submit(..., with_progress=True)``; the core's
progress callbacks return False to cancel, which makes the core raise
:class:`~cnnviz.core.Cancelled`) or returns a generator of :class:`~cnnviz.core.progress.Step`
whose return value is the result; the worker then checks for a cancel between yields. Tasks submitted with the same
``key`` replace each other: the older one is cancelled and its result, even if already computed, is
dropped.

The pool threads only see a plain :class:`_Job`; they report through a relay object that lives as
long as the worker, so no Qt object of a task is ever touched or freed outside the GUI thread.
Connect slots that do not keep the task itself alive (capture ``task.ident`` rather than ``task``).

The threads are Python daemon threads (not a ``QThreadPool``, whose destructor waits for every
job): a job stuck in user code (a model file's ``build()`` that sleeps, a long C call) can neither
hold up closing a window nor the interpreter's exit. :func:`running_jobs` tells an application's
exit path whether such a job is still running.
"""

import itertools
import queue
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from cnnviz.core.progress import Cancelled, Step

PROGRESS_INTERVAL_S = 0.03
"""Least time between two progress signals of one task (the last step is always reported)."""

IDLE_EXIT_S = 30.0
"""A pool thread with nothing to do for this long ends (a later job starts a new one)."""

_identities = itertools.count(1)
_running_lock = threading.Lock()
_running = 0


def running_jobs() -> int:
    """How many jobs of all workers are being run by a pool thread right now."""
    return _running


def _count_running(change: int) -> None:
    global _running
    with _running_lock:
        _running += change


class _Relay(QObject):
    """Carries a job's progress and outcome from a pool thread to the worker on the GUI thread."""

    progress = Signal(int, object, object, object)
    outcome = Signal(int, str, object)


class _Job:
    """The pool-thread side of a task: the call to make, its cancel flag and its reporting."""

    def __init__(self, ident: int, relay: _Relay, function: Callable[..., Any], args: tuple,
                 kwargs: dict[str, Any], with_progress: bool) -> None:
        self.ident = ident
        self.relay = relay
        # The call; dropped (None) once made so the job holds no references to its inputs.
        self.function: Callable[..., Any] | None = function
        self.args: tuple | None = args
        self.kwargs: dict[str, Any] | None = kwargs
        self.with_progress = with_progress
        self.cancel_event = threading.Event()
        self._last_report = 0.0

    def report(self, done: int, total: int, item: object = None) -> bool:
        """Progress callback for the core (``item``: what a generator yielded, if any); returns
        False once the task is cancelled."""
        now = time.monotonic()
        if done >= total > 0 or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.relay.progress.emit(self.ident, int(done), int(total), item)
        return not self.cancel_event.is_set()

    def drive(self, steps: Generator) -> object:
        """Run a generator job to its end, reporting every step; raise Cancelled between steps."""
        try:
            while True:
                step: Step = next(steps)
                if not self.report(step.done, step.total, step):
                    raise Cancelled
        except StopIteration as stop:
            return stop.value
        finally:
            steps.close()

    def run(self) -> None:
        """Make the call on the current (pool) thread and send its outcome to the GUI thread."""
        kind, payload = "cancelled", None
        if not self.cancel_event.is_set():
            kind, payload = self._call()
        self.function = self.args = self.kwargs = None
        self.relay.outcome.emit(self.ident, kind, payload)

    def _call(self) -> tuple[str, object]:
        # run() makes the call at most once and drops it only afterwards.
        assert self.function is not None and self.args is not None and self.kwargs is not None
        try:
            kwargs = {**self.kwargs, "progress": self.report} if self.with_progress else self.kwargs
            result = self.function(*self.args, **kwargs)
            if isinstance(result, Generator):
                result = self.drive(result)
        except Cancelled:
            return "cancelled", None
        except Exception as error:
            return "failed", error
        except BaseException as error:  # SystemExit or KeyboardInterrupt raised by user code here
            return "failed", RuntimeError(f"the task stopped with {type(error).__name__}: {error}")
        return "succeeded", result


class _Pool:
    """Up to ``size`` daemon threads running queued jobs in order, each job while holding ``hold`` when
    given; threads start on demand and end when idle for :data:`IDLE_EXIT_S` or when :meth:`close` asks
    them to."""

    def __init__(self, name: str, size: int, hold: "threading.Lock | None" = None) -> None:
        self.name, self.size, self.hold = name, size, hold
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._threads = 0
        self._unfinished = 0

    def start(self, job: "_Job") -> None:
        """Queue ``job``; start a thread for it if fewer than ``size`` run and all are taken."""
        with self._lock:
            self._unfinished += 1
            self._queue.put(job)
            if self._threads < min(self.size, self._unfinished):
                self._threads += 1
                threading.Thread(target=self._serve, name=f"cnnviz-{self.name}", daemon=True).start()

    def wait(self, timeout_s: float | None) -> bool:
        """Block until every queued job has returned or ``timeout_s`` passed; True if they all did."""
        with self._lock:
            return self._lock.wait_for(lambda: self._unfinished == 0, timeout_s)

    def close(self) -> None:
        """Let each thread end once the jobs queued before have run."""
        with self._lock:
            for _ in range(self._threads):
                self._queue.put(None)

    def _serve(self) -> None:
        while (job := self._next()) is not None:
            _count_running(1)
            try:
                if self.hold is None:
                    job.run()
                else:
                    with self.hold:
                        job.run()
            finally:
                _count_running(-1)
                with self._lock:
                    self._unfinished -= 1
                    self._lock.notify_all()

    def _next(self) -> "_Job | None":
        """The next job, or None when this thread should end (it is then no longer counted)."""
        while True:
            try:
                job = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._threads -= 1
                        return None
                continue
            if job is None:
                with self._lock:
                    self._threads -= 1
            return job


class Task(QObject):
    """Handle of one submitted job; see the module docstring for its signals.

    ``ident`` is unique per task; ``done`` is True once the outcome was delivered.
    """

    progress = Signal(object, object)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, name: str, job: _Job) -> None:
        super().__init__()
        self.name = name
        self.ident = job.ident
        self.done = False
        self._cancel = job.cancel_event

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the task to stop; it ends with ``cancelled`` unless it already ended."""
        self._cancel.set()

    def deliver(self, kind: str, payload: object) -> None:
        """Emit the outcome (on the GUI thread); a success after a cancel counts as cancelled."""
        self.done = True
        if kind == "succeeded" and self._cancel.is_set():
            kind = "cancelled"
        if kind == "succeeded":
            self.succeeded.emit(payload)
        elif kind == "failed":
            self.failed.emit(payload)
        else:
            self.cancelled.emit()
        self.finished.emit()


class Worker(QObject):
    """A thread pool for core work whose tasks report back on the GUI thread.

    ``threads`` is the most tasks run at once; use 1 for tasks that share a model, since hooks put
    on a module by one task would see the forward passes of another. ``hold``: a lock each task holds
    while it runs (the model lock of :mod:`~cnnviz.gui.runtime.model_sharing`).
    Signal ``busy_changed(bool)``: the first task started, or the last one ended.
    """

    busy_changed = Signal(bool)

    def __init__(self, name: str, threads: int = 1, parent: QObject | None = None, *,
                 hold: "threading.Lock | None" = None) -> None:
        super().__init__(parent)
        self.name = name
        self._pool = _Pool(name, threads, hold)
        self._relay = _Relay(self)
        queued = Qt.ConnectionType.QueuedConnection
        self._relay.progress.connect(self._on_progress, queued)
        self._relay.outcome.connect(self._on_outcome, queued)
        self._tasks: dict[int, Task] = {}
        self._keyed: dict[str, int] = {}
        self._closed = False
        # Progress received and not yet delivered, by task: (done, total, latest partial or None).
        self._pending: dict[int, tuple[int, int, object]] = {}
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)  # a timer, so it fires after the queued reports already posted
        self._flush.timeout.connect(self._deliver_pending)

    @property
    def busy(self) -> bool:
        """True while a submitted task has not delivered its outcome."""
        return bool(self._tasks)

    def submit(self, function: Callable[..., Any], *args: Any, key: str | None = None,
               with_progress: bool = False, **kwargs: Any) -> Task:
        """Run ``function(*args, **kwargs)`` on the pool; see the module docstring."""
        job = _Job(next(_identities), self._relay, function, args, kwargs, with_progress)
        task = Task(key or str(getattr(function, "__name__", "task")), job)
        if self._closed:
            task.cancel()
        if key is not None:
            self.cancel(key)
            self._keyed[key] = task.ident
        was_busy = self.busy
        self._tasks[task.ident] = task
        if not was_busy:
            self.busy_changed.emit(True)
        if self._closed:
            self._relay.outcome.emit(job.ident, "cancelled", None)
        else:
            self._pool.start(job)
        return task

    def cancel(self, key: str) -> None:
        """Cancel the current task submitted with ``key``, if any."""
        task = self._tasks.get(self._keyed.get(key, 0))
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        """Cancel every task that has not ended yet."""
        for task in self._tasks.values():
            task.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything, refuse new work (later tasks end cancelled at once) and wait up to
        ``timeout_ms`` for the running jobs; True if they all returned. A job that did not is left
        to its daemon thread, which holds up neither the caller nor the interpreter's exit."""
        self._closed = True
        self.cancel_all()
        self._pool.close()
        return self.wait(timeout_ms)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the running tasks have returned (their outcomes are still to be delivered);
        ``timeout_ms`` < 0 waits for ever. True if they all returned in time."""
        return self._pool.wait(None if timeout_ms < 0 else timeout_ms / 1000.0)

    @Slot(int, object, object, object)
    def _on_progress(self, ident: int, done: int, total: int, item: object) -> None:
        earlier = self._pending.get(ident)
        if item is None and earlier is not None:
            item = earlier[2]
        self._pending[ident] = (done, total, item)
        if not self._flush.isActive():
            self._flush.start()

    def _deliver_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for ident, report in pending.items():
            self._deliver_progress(ident, *report)

    def _deliver_progress(self, ident: int, done: int, total: int, item: object) -> None:
        task = self._tasks.get(ident)
        if task is not None and not task.is_cancelled:
            task.progress.emit(done, total)
            if item is not None:
                task.partial.emit(item)

    @Slot(int, str, object)
    def _on_outcome(self, ident: int, kind: str, payload: object) -> None:
        report = self._pending.pop(ident, None)
        if report is not None:
            self._deliver_progress(ident, *report)
        task = self._tasks.get(ident)
        if task is None:
            return
        try:
            task.deliver(kind, payload)
        finally:
            del self._tasks[ident]
            for key, keyed in list(self._keyed.items()):
                if keyed == ident:
                    del self._keyed[key]
            if not self._tasks:
                self.busy_changed.emit(False)
