"""Garbage collection runs on the GUI thread only, so Qt objects are never destroyed elsewhere."""

import gc
import sys
import threading

from PySide6.QtCore import QObject

from cnnviz.gui.compat import gui_thread_gc


def test_automatic_collection_is_off_and_the_timer_collects_cycles(app, qtbot):
    assert not gc.isenabled()
    assert app.findChild(gui_thread_gc.GuiThreadCollector) is gui_thread_gc.install(app)
    destroyed_in: list[int] = []

    class Node:
        def __init__(self):
            self.me = self  # a reference cycle: only the collector frees it
            self.qt = QObject()
            self.qt.destroyed.connect(lambda: destroyed_in.append(threading.get_ident()))

    gc.collect()
    for _ in range(3):
        Node()
    allocations = [[] for _ in range(gc.get_threshold()[0] + 10)]  # pass gen 0's threshold
    qtbot.waitUntil(lambda: len(destroyed_in) == 3, timeout=5000)
    del allocations
    assert set(destroyed_in) == {threading.get_ident()}


def test_the_start_up_objects_are_frozen_out_of_every_collection(app):
    assert "torchvision" in sys.modules
    assert gc.get_freeze_count() > 100_000  # the imported modules; a full collection skips them


class FakeCollector:
    """Stands in for :mod:`gc`: given counts, an oldest generation of ``size`` objects, and a log of
    the generations collected."""

    def __init__(self, size: int) -> None:
        self.size, self.counts, self.collected = size, (0, 0, 0), []

    def get_count(self):
        return self.counts

    def get_threshold(self):
        return (700, 10, 10)

    def get_objects(self, generation=None):
        return [None] * self.size

    def collect(self, generation=2):
        self.collected.append(generation)
        return 0

    def disable(self):
        pass


def test_the_oldest_generation_is_collected_once_it_grew_by_a_quarter(app, monkeypatch):
    fake = FakeCollector(size=1000)
    monkeypatch.setattr(gui_thread_gc, "gc", fake)
    collector = gui_thread_gc.GuiThreadCollector(interval_ms=3_600_000)
    fake.counts = (701, 3, 0)
    collector.collect()  # only the youngest is due
    fake.counts, fake.size = (701, 11, 11), 1250
    collector.collect()  # all three are past their threshold, the oldest grew by exactly 25 %
    fake.size = 1251
    collector.collect()  # grown by more than a quarter
    fake.counts, fake.size = (701, 11, 11), 1300
    collector.collect()  # measured against the 1251 left after the full collection
    fake.counts = (701, 5, 11)
    collector.collect()  # the middle one is not due: the oldest is not even weighed
    assert fake.collected == [0, 1, 2, 1, 0]
    collector.deleteLater()
