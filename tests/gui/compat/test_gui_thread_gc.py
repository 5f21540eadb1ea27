"""Garbage collection runs on the GUI thread only, so Qt objects are never destroyed elsewhere."""

import gc
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
