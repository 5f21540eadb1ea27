"""Python's cyclic garbage collector, run on the GUI thread only.

A Qt object that only a reference cycle keeps alive is destroyed whenever Python's collector runs,
and CPython runs it in whichever thread happens to be allocating. A widget destroyed outside the
GUI thread breaks Qt: a test run here hung with a worker thread, inside ``torch.load``, collecting a
closed window's menu and waiting for the GIL in the menu's destructor. So automatic collection is
switched off and the same generational collection runs from a timer on the GUI thread.
"""

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 200
"""How often the GUI thread checks whether a collection is due."""


class GuiThreadCollector(QObject):
    """Disables automatic garbage collection and collects on a GUI-thread timer instead, one
    generation at a time when its allocation threshold is passed (as CPython would)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> int:
        """Collect the oldest generation whose threshold is exceeded; returns objects freed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0


def install(app: QCoreApplication) -> GuiThreadCollector:
    """The application's collector, created on first call (call it from the GUI thread)."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)
