"""The background worker: results, errors, progress and cancels arrive on the GUI thread."""

import threading
import time

import pytest
from PySide6.QtCore import QThread

from cnnviz.core.progress import Step, report
from cnnviz.gui.runtime import worker as worker_module
from cnnviz.gui.runtime.worker import Worker


@pytest.fixture
def worker(app):
    worker = Worker("test", threads=2)
    yield worker
    assert worker.shutdown(10_000)
    app.processEvents()


def test_result_arrives_on_the_gui_thread(worker, qtbot, app):
    seen = {}

    def job(a, b):
        seen["thread"] = threading.get_ident()
        return a + b

    received = []

    def on_result(value):
        received.append((value, QThread.currentThread()))

    task = worker.submit(job, 2, b=3)
    task.succeeded.connect(on_result)
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert received == [(5, app.thread())]
    assert seen["thread"] != threading.get_ident()
    assert not worker.busy


def test_error_is_delivered_not_raised(worker, qtbot):
    def broken():
        raise ValueError("bad input")

    task = worker.submit(broken)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert isinstance(blocker.args[0], ValueError)
    assert "bad input" in str(blocker.args[0])


def test_generator_progress_and_result(worker, qtbot):
    def steps():
        for i in range(1, 4):
            yield Step(i, 3)
        return "done"

    progress = []
    task = worker.submit(steps)
    task.progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(task.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args == ["done"]
    assert progress[-1] == (3, 3)


def test_cancel_between_yields_closes_the_generator(worker, qtbot):
    closed = threading.Event()
    started = threading.Event()

    def slow():
        try:
            for i in range(1000):
                started.set()
                time.sleep(0.01)
                yield Step(i, 1000)
            return "finished"
        finally:
            closed.set()

    task = worker.submit(slow)
    outcomes = []
    task.succeeded.connect(lambda value: outcomes.append(("succeeded", value)))
    task.cancelled.connect(lambda: outcomes.append(("cancelled",)))
    assert started.wait(5)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.cancel()
    assert outcomes == [("cancelled",)]
    assert closed.is_set()


def test_progress_callback_cancel_raises_cancelled_in_the_core(worker, qtbot):
    def core_like(progress):
        for i in range(1000):
            time.sleep(0.005)
            report(progress, i, 1000)
        return "not cancelled"

    task = worker.submit(core_like, with_progress=True)
    with qtbot.waitSignal(task.progress, timeout=5000):
        pass
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()


def test_newer_task_with_the_same_key_replaces_the_older(worker, qtbot):
    gate = threading.Event()

    def first():
        gate.wait(5)
        return "old"

    old = worker.submit(first, key="input")
    results = []
    old.succeeded.connect(results.append)
    new = worker.submit(lambda: "new", key="input")
    new.succeeded.connect(results.append)
    with qtbot.waitSignal(old.cancelled, timeout=5000):
        gate.set()
    qtbot.waitUntil(lambda: not worker.busy, timeout=5000)
    assert results == ["new"]


def test_shutdown_cancels_and_refuses_new_work(app, qtbot):
    worker = Worker("closing")

    def sleepy(progress):
        for i in range(500):
            time.sleep(0.01)
            report(progress, i, 500)

    task = worker.submit(sleepy, with_progress=True)
    start = time.monotonic()
    assert worker.shutdown(5000)
    assert time.monotonic() - start < 2
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        pass
    late = worker.submit(lambda: 1)
    with qtbot.waitSignal(late.cancelled, timeout=5000):
        pass


def test_progress_counts_beyond_32_bits(worker, qtbot):
    def big(progress):
        report(progress, 5_000_000_000, 6_000_000_000)
        return "ok"

    task = worker.submit(big, with_progress=True)
    with qtbot.waitSignal(task.progress, timeout=5000) as blocker:
        pass
    assert blocker.args == [5_000_000_000, 6_000_000_000]


def test_generator_items_arrive_as_partial_results(worker, qtbot):
    def steps():
        for i in range(1, 4):
            yield Step(i, 3, {"rows": i})
            time.sleep(0.05)  # longer than the throttle interval: every item is reported
        return "all rows"

    partials = []
    task = worker.submit(steps)
    task.partial.connect(lambda step: partials.append(step.partial["rows"]))
    with qtbot.waitSignal(task.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args == ["all rows"]
    assert partials == [1, 2, 3]


@pytest.mark.parametrize("stop", [SystemExit(3), KeyboardInterrupt()])
def test_system_exit_or_interrupt_in_a_job_is_a_failure(worker, qtbot, stop):
    def leaves():
        raise stop

    task = worker.submit(leaves)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert type(stop).__name__ in str(blocker.args[0])
    ok = worker.submit(lambda: 7)
    with qtbot.waitSignal(ok.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args == [7]


def test_idle_threads_end_and_a_later_job_starts_a_new_one(app, qtbot, monkeypatch):
    monkeypatch.setattr(worker_module, "IDLE_EXIT_S", 0.05)
    worker = Worker("idle", threads=2)

    def threads():
        return [t for t in threading.enumerate() if t.name == "cnnviz-idle"]

    for value in (1, 2):
        task = worker.submit(lambda v=value: v * 10)
        with qtbot.waitSignal(task.succeeded, timeout=5000) as blocker:
            pass
        assert blocker.args == [value * 10]
        qtbot.waitUntil(lambda: not threads(), timeout=5000)
    assert worker.shutdown(1000)


def test_reports_queued_while_the_gui_thread_is_busy_arrive_as_one_before_the_outcome(app, worker, qtbot,
                                                                                    monkeypatch):
    monkeypatch.setattr(worker_module, "PROGRESS_INTERVAL_S", 0.0)  # every step is sent
    all_sent = threading.Event()

    def steps():
        for i in range(1, 41):
            yield Step(i, 40, {"rows": i})
        all_sent.set()
        return "done"

    events = []
    task = worker.submit(steps)
    task.progress.connect(lambda done, total: events.append(("progress", done)))
    task.partial.connect(lambda step: events.append(("partial", step.partial["rows"])))
    task.succeeded.connect(lambda value: events.append(("succeeded", value)))
    assert all_sent.wait(5)  # the GUI thread was busy meanwhile: 40 reports and the outcome queued
    qtbot.waitUntil(lambda: task.done, timeout=5000)
    assert events == [("progress", 40), ("partial", 40), ("succeeded", "done")]
