"""GUI soak: about 100 random actions (fixed seed) across panes, layers, channels, images, model
reloads, Run/Cancel of the run panes and one window close and reopen, offscreen.

Asserts that no exception reached a hook and Qt logged no error-like message, that no hook is left on
the model once everything settled, that every closed window's model was freed, and that the GUI
thread never stalled after start-up (measured from the first settle of each window: a 50 ms timer
records the longest gap between its ticks, in GUI-thread CPU time against :data:`STALL_CPU_S` and in
wall-clock time against :data:`STALL_WALL_S`).
"""

import gc
import random
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler

from cnnviz.core.data import images
from cnnviz.core.model.hooks import hook_count
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.runtime.model_spec import ModelSpec

SEED = 9
ACTIONS = 100
REOPEN_AT = 50
STALL_CPU_S = 0.5
"""The most GUI-thread CPU time between two passes of the event loop."""
STALL_WALL_S = 1.5
"""The longest wall-clock gap allowed: the CPU bound plus room for other processes (CI runs two test
workers on two cores) and for waiting on the GIL."""
TICK_MS = 50
SETTLE_MS = 60_000
ERROR_WORDS = ("error", "exception", "traceback", "cannot", "failed", "invalid", "destroyed while")
"""A Qt warning containing one of these (lower case) counts as an error; critical and fatal always do."""


class StallMeter:
    """The longest gaps between ticks of a :data:`TICK_MS` timer while started: in wall-clock
    seconds (``worst``) and in seconds of the GUI thread's own CPU time (``worst_cpu``: work done
    on the GUI thread in one go, whatever else the machine runs)."""

    def __init__(self) -> None:
        self.worst = self.worst_cpu = 0.0
        self.doing = "start-up"
        """What the test was doing, set before each action."""
        self.long: list[tuple[float, float, str]] = []
        """Every wall-clock gap over a quarter of the CPU limit: (wall, CPU, what the test did)."""
        self._last: tuple[float, float] | None = None
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = (time.monotonic(), time.thread_time())
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()
        self._last = None

    def _tick(self) -> None:
        now = (time.monotonic(), time.thread_time())
        if self._last is not None:
            wall, cpu = now[0] - self._last[0], now[1] - self._last[1]
            if wall > STALL_CPU_S / 4:
                self.long.append((round(wall, 3), round(cpu, 3), self.doing))
            self.worst, self.worst_cpu = max(self.worst, wall), max(self.worst_cpu, cpu)
        self._last = now

    def report(self) -> str:
        """The longest gaps, longest first, for a failure message."""
        return "; ".join(f"{wall * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU) {doing}"
                         for wall, cpu, doing in sorted(self.long, reverse=True)[:8])


@pytest.fixture
def errors(monkeypatch) -> Iterator[list[str]]:
    """Exceptions that reach sys.excepthook or threading.excepthook, and Qt error-like messages."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: seen.append(f"{kind.__name__}: {value}"))
    monkeypatch.setattr(threading, "excepthook", lambda hook: seen.append(f"thread: {hook.exc_value!r}"))

    def on_message(kind: QtMsgType, _context: object, message: str) -> None:
        lowered = message.lower()
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) or (
                kind == QtMsgType.QtWarningMsg and any(word in lowered for word in ERROR_WORDS)):
            seen.append(f"Qt: {message}")

    previous = qInstallMessageHandler(on_message)
    yield seen
    qInstallMessageHandler(previous)


def open_window(qtbot, meter: StallMeter) -> MainWindow:
    """A shown window with the bundled model and default sample, settled; the meter runs from then."""
    window = MainWindow(remember=False)
    window.show()
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.default_sample())
    qtbot.waitUntil(lambda: window.controller.settled, timeout=SETTLE_MS)
    meter.start()
    return window


def close_window(window: MainWindow, meter: StallMeter) -> weakref.ref:
    """Close and delete ``window``; a weak reference to its model."""
    meter.stop()
    model = weakref.ref(window.state.model)
    window.close()
    assert window.controller.shutdown(30_000)
    window.deleteLater()
    return model


def actions(qtbot, window: MainWindow, rng: random.Random, clicks: Counter) -> dict[str, Callable[[], object]]:
    """The random actions on ``window``, by name; ``clicks`` counts the buttons clicked by title."""
    state, controller = window.state, window.controller

    run_panes = [pane for pane in window.panes.values() if isinstance(pane, RunPane)]

    def click(name: str, among: list[RunPane]) -> None:
        """Bring one of ``among`` whose button ``name`` is enabled to the front and click it (the
        Dataset pane's Scan, for one, is disabled until a dataset is chosen)."""
        among = [pane for pane in among if getattr(pane, name).isEnabled()]
        if not among:
            return
        pane = rng.choice(among)
        window.tabs.setCurrentWidget(pane)
        clicks[f"{pane.key}.{name}"] += 1
        getattr(pane, name).click()

    def run_and_cancel() -> None:
        click("run_button", run_panes)
        qtbot.wait(rng.randrange(0, 60))
        click("cancel_button", [pane for pane in run_panes if pane.running])

    def layer() -> None:
        if state.layer_rows:
            state.set_layer(rng.choice(state.layer_rows).name)

    return {
        "tab": lambda: window.tabs.setCurrentIndex(rng.randrange(window.tabs.count())),
        "layer": layer,
        "channel": lambda: state.set_channel(rng.randrange(-1, 8)),
        "image": lambda: controller.open_sample(rng.choice(images.samples())),
        "model": lambda: controller.load_model(ModelSpec()),
        "run": lambda: click("run_button", run_panes),
        "cancel": lambda: click("cancel_button", [pane for pane in run_panes if pane.running]),
        "run_and_cancel": run_and_cancel,
    }


WEIGHTS = {"tab": 6, "layer": 4, "channel": 3, "image": 2, "model": 1, "run": 4, "cancel": 2, "run_and_cancel": 3}


def settle_all(qtbot, window: MainWindow) -> None:
    """Cancel the runs and wait until the window and every visible pane are idle (hidden panes
    compute nothing)."""
    for pane in window.panes.values():
        if isinstance(pane, RunPane):
            pane.cancel()
    qtbot.waitUntil(lambda: window.controller.settled and all(
        getattr(pane, "settled", True) for pane in window.panes.values() if pane.isVisible()),
        timeout=SETTLE_MS)


@pytest.fixture
def fresh_heap(app) -> None:
    """The collector's state of a freshly started application: what earlier tests left alive is
    frozen with the start-up objects (``create_application`` freezes those once per process), so
    full collections visit only what this test's windows make."""
    gc.collect()
    gc.freeze()


def test_random_actions_raise_nothing_leave_no_hook_and_never_stall(qtbot, errors, fresh_heap):
    rng = random.Random(SEED)
    meter = StallMeter()
    window = open_window(qtbot, meter)
    names = list(WEIGHTS)
    freed: list[weakref.ref] = []
    clicks: Counter = Counter()
    for index in range(ACTIONS):
        if index == REOPEN_AT:
            settle_all(qtbot, window)
            freed.append(close_window(window, meter))
            del window
            qtbot.wait(50)
            window = open_window(qtbot, meter)
        name = rng.choices(names, [WEIGHTS[name] for name in names])[0]
        meter.doing = f"during action {index}: {name} (on {window.tabs.tabText(window.tabs.currentIndex())})"
        actions(qtbot, window, rng, clicks)[name]()
        meter.doing = f"after action {index}: {name} (on {window.tabs.tabText(window.tabs.currentIndex())})"
        qtbot.wait(rng.randrange(10, 250))
    settle_all(qtbot, window)
    meter.stop()
    assert hook_count(window.state.model.module) == 0
    freed.append(close_window(window, meter))
    del window
    qtbot.wait(50)
    gc.collect()
    assert [ref() for ref in freed] == [None, None]
    assert errors == []
    for key in ("occlusion", "invariance", "dream"):
        assert clicks[f"{key}.run_button"] >= 2 and clicks[f"{key}.cancel_button"] >= 1, clicks
    assert meter.worst_cpu < STALL_CPU_S and meter.worst < STALL_WALL_S, meter.report()
