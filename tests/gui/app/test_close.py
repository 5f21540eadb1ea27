"""Shutting down during a job that ignores cancel takes a bounded time: a worker, a window, the command."""

import subprocess
import sys
import threading
import time
from pathlib import Path

from test_cli import child_env

from cnnviz.gui.app.main_window import CLOSE_WAIT_MS
from cnnviz.gui.runtime.worker import Worker, running_jobs

SLEEPY_MODEL = """\
import time
from pathlib import Path

from PySide6.QtCore import QMetaObject, Qt
from PySide6.QtWidgets import QApplication
from torch import nn


def build():
    QMetaObject.invokeMethod(QApplication.instance(), "closeAllWindows", Qt.ConnectionType.QueuedConnection)
    Path({mark!r}).write_text(repr(time.time()))
    time.sleep(90)
    return nn.Linear(2, 2)
"""


def stubborn_job(started: threading.Event, release: threading.Event, seconds: float = 10.0):
    """A job that ignores cancel: sleeps in a loop for ``seconds`` unless ``release`` is set."""

    def job():
        started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not release.is_set():
            time.sleep(0.01)
        return "late"

    return job


def test_shutdown_of_a_stuck_job_returns_after_the_timeout(app, qtbot):
    worker = Worker("stuck")
    started, release = threading.Event(), threading.Event()
    task = worker.submit(stubborn_job(started, release))
    outcomes = []
    task.succeeded.connect(outcomes.append)
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    assert started.wait(5)
    start = time.monotonic()
    assert not worker.shutdown(300)
    assert 0.29 < time.monotonic() - start < 1.0
    assert running_jobs() >= 1
    threads = [t for t in threading.enumerate() if t.name == "cnnviz-stuck"]
    assert len(threads) == 1 and threads[0].daemon
    release.set()
    assert worker.wait(5000)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=5000)
    assert outcomes == ["cancelled"]
    threads[0].join(5)
    assert not threads[0].is_alive()


def test_window_closes_in_bounded_time_during_a_stuck_job(window, qtbot):
    started, release = threading.Event(), threading.Event()
    task = window.controller.compute.submit(stubborn_job(started, release))
    outcomes = []
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    assert started.wait(5)
    start = time.monotonic()
    window.close()
    closed_s = time.monotonic() - start
    assert not window.isVisible()
    assert CLOSE_WAIT_MS / 1000 - 0.05 < closed_s < 3.0
    start = time.monotonic()
    assert not window.controller.shutdown(3000)
    assert 2.9 < time.monotonic() - start < 3.5
    assert running_jobs() >= 1
    release.set()
    assert window.controller.shutdown(5000)
    qtbot.waitUntil(lambda: outcomes == ["cancelled"], timeout=5000)


def test_command_exits_soon_after_close_while_build_sleeps(tmp_path: Path):
    mark = tmp_path / "closing"
    model = tmp_path / "sleepy.py"
    model.write_text(SLEEPY_MODEL.format(mark=str(mark)))
    result = subprocess.run([sys.executable, "-m", "cnnviz", "--model", str(model)],
                            env=child_env(tmp_path, QT_QPA_PLATFORM="offscreen"), capture_output=True,
                            text=True, timeout=150)
    exited = time.time()
    assert result.returncode == 0, result.stderr
    assert mark.exists(), result.stderr
    # Far below the build's 90 s sleep: the command does not wait for it (a loaded CI machine needs seconds to exit).
    assert exited - float(mark.read_text()) < 20.0
