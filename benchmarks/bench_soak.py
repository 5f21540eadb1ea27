"""Soak benchmark: resident memory after 300 scripted GUI actions vs after the first 20 (goal ≤ 1.3×).

The actions cycle through the panes, layers, channels and bundled images of the bundled model,
run occlusion, invariance and deep dream (to the end or cancelled after a moment) and reload the
model, offscreen. Before each reading, ``malloc_trim(0)`` (glibc, where available) hands the
allocator's free pages back to the system: glibc keeps freed tensor memory in its arenas, so the
raw RSS mostly measures allocator retention rather than what cnnviz still holds. Both readings are
printed. Run: ``.venv/bin/python benchmarks/bench_soak.py``
"""

import argparse
import ctypes
import ctypes.util
import gc
import itertools
import os
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PySide6.QtWidgets import QApplication

from cnnviz.core.data import images
from cnnviz.gui.app.application import create_application
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.runtime.model_spec import ModelSpec

GOAL = 1.3
TIMEOUT_S = 120.0


def trim_and_read_rss() -> tuple[int, int]:
    """(RSS before, RSS after ``malloc_trim(0)``) in bytes, after a garbage collection."""
    gc.collect()
    before = psutil.Process().memory_info().rss
    name = ctypes.util.find_library("c")
    if name is not None:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    return before, psutil.Process().memory_info().rss


def wait_until(condition: Callable[[], bool], pause_s: float = 0.0) -> None:
    """Process events for ``pause_s``, then until ``condition()`` holds (RuntimeError after TIMEOUT_S)."""
    start = time.monotonic()
    while time.monotonic() - start < pause_s or not condition():
        QApplication.processEvents()
        time.sleep(0.005)
        if time.monotonic() - start > TIMEOUT_S + pause_s:
            raise RuntimeError("timed out waiting for the window to settle")


def scripted_actions(window: MainWindow) -> list[Callable[[], None]]:
    """One cycle of actions; each leaves the window settled."""
    state, controller = window.state, window.controller
    run_panes = [pane for pane in window.panes.values() if isinstance(pane, RunPane)]
    samples = itertools.cycle(images.samples())
    channels = itertools.cycle(range(-1, 8))

    def settled() -> bool:
        current = window.tabs.currentWidget()
        return controller.settled and getattr(current, "settled", True) and not controller.busy

    def show(index: int) -> None:
        window.tabs.setCurrentIndex(index)
        wait_until(settled)

    def layer(step: int) -> None:
        rows = state.layer_rows or []
        if rows:
            state.set_layer(rows[step % len(rows)].name)
        wait_until(settled)

    def run(pane: RunPane, cancel_after_s: float | None) -> None:
        window.tabs.setCurrentWidget(pane)
        wait_until(settled)
        pane.run_button.click()
        if cancel_after_s is not None:
            wait_until(lambda: True, cancel_after_s)
            pane.cancel()
        wait_until(lambda: not pane.running and settled())

    def channel() -> None:
        state.set_channel(next(channels))
        wait_until(settled)

    def image() -> None:
        controller.open_sample(next(samples))
        wait_until(settled, 0.05)

    def reload_model() -> None:
        controller.load_model(ModelSpec())
        wait_until(settled, 0.05)

    cycle: list[Callable[[], None]] = [lambda i=i: show(i) for i in range(window.tabs.count())]
    cycle += [lambda s=s: layer(s) for s in range(0, 12, 3)]
    cycle += [channel] * 3 + [image] * 2
    cycle += [lambda p=p, c=c: run(p, c) for p in run_panes for c in (None, 0.1)]
    return cycle + [reload_model]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--first", type=int, default=20)
    args = parser.parse_args()
    app = create_application()
    window = MainWindow(remember=False)
    window.show()
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.default_sample())
    wait_until(lambda: window.controller.settled)
    steps = itertools.cycle(scripted_actions(window))
    readings = {}
    start = time.monotonic()
    for index in range(1, args.actions + 1):
        next(steps)()
        if index in (args.first, args.actions):
            readings[index] = trim_and_read_rss()
    seconds = time.monotonic() - start
    window.close()
    window.deleteLater()
    app.processEvents()
    (raw_first, first), (raw_last, last) = readings[args.first], readings[args.actions]
    mb = 2**20
    print(f"{args.actions} actions in {seconds:.0f} s")
    print(f"RSS after {args.first:>3} actions: {first / mb:7.0f} MB (before malloc_trim {raw_first / mb:.0f} MB)")
    print(f"RSS after {args.actions:>3} actions: {last / mb:7.0f} MB (before malloc_trim {raw_last / mb:.0f} MB)")
    print(f"ratio: {last / first:.2f}× (goal ≤ {GOAL}×; without malloc_trim {raw_last / raw_first:.2f}×)")


if __name__ == "__main__":
    main()
