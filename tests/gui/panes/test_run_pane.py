"""The base of the job-running panes: partial results shown, a superseded run's late results
dropped, cancel keeps the partial result marked PARTIAL, an error shows and a retry works, and the
progress text with elapsed and remaining time."""

import threading
from dataclasses import dataclass

import pytest
import torch

from cnnviz.core.progress import Step
from cnnviz.gui.panes.run_pane import RunPane, clock, progress_text
from cnnviz.gui.panes.tool_pane import same_request

TIMEOUT_MS = 10_000


def counting(steps: int, gate: threading.Event | None = None, fail_at: int | None = None):
    """A fake job: yields Step(done, total, done) for done = 1..steps, waiting for ``gate`` before each
    step after the first; raises at step ``fail_at``; returns ``steps * 10``."""
    for done in range(1, steps + 1):
        if gate is not None and done > 1:
            gate.wait(5)
        if done == fail_at:
            raise RuntimeError(f"broke at {done}")
        yield Step(done, steps, done)
    return steps * 10


class CountingPane(RunPane):
    """A trivial run pane that keeps everything its hooks receive."""

    def __init__(self, context) -> None:
        super().__init__(context, "counting", lambda model: [], unit="items")
        self.partials, self.results, self.errors, self.ended = [], [], [], 0
        self.shown: tuple[int, int] | None = None

    def run(self) -> None:
        self.start(counting, ("request", 4), 4)

    def on_partial(self, item) -> None:
        self.partials.append((self.run_request, item.partial))
        self.shown = (item.done, item.total)
        self.update_partial()

    def on_done(self, result) -> None:
        self.results.append(result)

    def on_error(self, error) -> None:
        self.errors.append(str(error))

    def on_ended(self) -> None:
        self.ended += 1

    def partial_progress(self):
        return self.shown


@pytest.fixture
def pane(window, qtbot):
    made = CountingPane(window.context)
    qtbot.addWidget(made)
    made.show()
    yield made
    made.cancel()
    qtbot.waitUntil(lambda: not made.running, timeout=TIMEOUT_MS)


def test_partial_results_are_shown_and_the_result_arrives(pane, qtbot):
    pane.run_button.click()
    assert pane.running and pane.cancel_button.isEnabled() and pane.outcome == "running"
    qtbot.waitUntil(lambda: pane.results == [40] and not pane.running, timeout=TIMEOUT_MS)
    assert pane.partials[-1] == (("request", 4), 4)
    assert pane.outcome == "done" and pane.ended == 1 and not pane.cancel_button.isEnabled()
    assert (pane.progress.value(), pane.progress.maximum()) == (4, 4)
    assert pane.progress.format().startswith("4 / 4 items · 0:0") and "left" not in pane.progress.format()
    assert not pane.partial_label.isVisibleTo(pane)


def test_a_superseded_runs_late_results_are_dropped(pane, qtbot):
    first_gate, second_gate = threading.Event(), threading.Event()
    pane.start(counting, "first", 3, first_gate)
    qtbot.waitUntil(lambda: len(pane.partials) == 1, timeout=TIMEOUT_MS)
    pane.start(counting, "second", 3, second_gate)
    first_gate.set()  # the first run ends (cancelled) after the second started
    qtbot.wait(100)
    assert pane.running and pane.cancel_button.isEnabled() and pane.ended == 0
    second_gate.set()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.results == [30] and pane.ended == 1
    assert [request for request, _done in pane.partials[1:]] == ["second"] * len(pane.partials[1:])
    assert pane.partials[-1] == ("second", 3)


def test_cancel_keeps_the_partial_result_marked_partial(pane, qtbot):
    gate = threading.Event()
    pane.start(counting, "slow", 5, gate)
    qtbot.waitUntil(lambda: pane.shown == (1, 5), timeout=TIMEOUT_MS)
    assert not pane.partial_label.isVisibleTo(pane)  # running: the progress bar tells how far it is
    pane.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.cancelled and pane.results == [] and pane.ended == 1
    assert pane.shown[0] < 5 and pane.partial_label.isVisibleTo(pane)
    assert pane.partial_label.text() == f"PARTIAL — {pane.shown[0]} of 5 items (cancelled)"


def test_the_progress_says_starting_until_the_first_report(pane, qtbot):
    gate = threading.Event()

    def held(steps: int):
        gate.wait(5)
        yield from counting(steps)

    pane.start(held, "held", 3)
    qtbot.wait(50)
    assert pane.progress.format() == "starting…" and pane.progress.value() == 0
    gate.set()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    gate.clear()
    pane.start(held, "planned", 3, planned=3)
    assert pane.progress.format() == "0 / 3 items · starting…" and pane.progress.maximum() == 3
    gate.set()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.progress.format().startswith("3 / 3 items · ")


def test_an_error_shows_and_a_retry_runs(pane, qtbot):
    pane.start(counting, "failing", 4, None, 3, text="Counting…")
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.errors == ["broke at 3"] and pane.outcome == "failed"
    assert "Counting failed: broke at 3" in pane.info.text()
    assert pane.shown[0] in (1, 2)  # step 2 may be throttled away
    assert pane.partial_label.text() == f"PARTIAL — {pane.shown[0]} of 4 items (failed)"
    pane.run_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.results == [40] and pane.outcome == "done" and pane.info.text() == ""
    assert not pane.partial_label.isVisibleTo(pane)


def test_progress_text_estimates_the_time_left():
    assert clock(0) == "0:00" and clock(4.4) == "0:04" and clock(61) == "1:01" and clock(3725) == "1:02:05"
    assert progress_text(120, 625, "positions", 1.0) == "120 / 625 positions · 0:01 elapsed · 0:04 left"
    assert progress_text(1, 4, "values", 30.0) == "1 / 4 values · 0:30 elapsed · 1:30 left"
    assert progress_text(0, 10, "steps", 2.0) == "0 / 10 steps · 0:02 elapsed"
    assert progress_text(10, 10, "steps", 75.0) == "10 / 10 steps · 1:15 elapsed"


@dataclass(frozen=True, eq=False)
class Request:
    model: object
    x: object
    size: int


def test_same_request_compares_tensors_by_identity_and_values_by_equality():
    x, y = torch.zeros(2), torch.zeros(2)
    assert same_request(Request(None, x, 3), Request(None, x, 3))
    assert not same_request(Request(None, x, 3), Request(None, y, 3))
    assert not same_request(Request(None, x, 3), Request(None, x, 4))
    assert same_request((x, 1), (x, 1)) and not same_request((x, 1), (x,))
    assert same_request(None, None) and not same_request(None, Request(None, x, 3))
