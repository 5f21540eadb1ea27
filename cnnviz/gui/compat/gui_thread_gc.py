"""Python's cyclic garbage collector, run on the GUI thread only, and kept short.

A Qt object that only a reference cycle keeps alive is destroyed whenever Python's collector runs,
and CPython runs it in whichever thread happens to be allocating. A widget destroyed outside the
GUI thread breaks Qt: a test run here hung with a worker thread, inside ``torch.load``, collecting a
closed window's menu and waiting for the GIL in the menu's destructor. So automatic collection is
switched off and the same generational collection runs from a timer on the GUI thread.

A full collection visits every tracked object and holds the GIL while it does: with torch,
torchvision and Qt imported that is over half a million objects and 0.7 s on this machine, during
which the window froze. Two measures keep it short:

- What is alive when the application starts (imported modules, torchvision's included, since the
  first model needs it) is frozen (:func:`gc.freeze`): collections never visit it again.
- The oldest generation is collected only once it has grown by a quarter since its last collection,
  CPython's own rule, so full collections get rarer as the heap grows instead of running every
  70 000 allocations.
"""

import gc
import importlib

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 200
"""How often the GUI thread checks whether a collection is due."""
GROWTH = 0.25
"""A full collection is due once the oldest generation has grown by this fraction of its size."""
STARTUP_MODULES = ("torch", "torchvision")
"""Imported before the start-up freeze: every session loads a model and so imports them."""


def freeze_startup() -> int:
    """Import :data:`STARTUP_MODULES` and freeze every object alive now so that later collections
    skip them; returns the number of frozen objects. Call it before the window and its models
    exist: cyclic garbage made later out of frozen objects is never collected. No collection runs
    first: it would add half a second to the start for the few dozen cycles imports leave."""
    for name in STARTUP_MODULES:
        importlib.import_module(name)
    gc.freeze()
    return gc.get_freeze_count()


class GuiThreadCollector(QObject):
    """Disables automatic garbage collection and collects on a GUI-thread timer instead, one
    generation at a time when its allocation threshold is passed (as CPython would)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        self._long_lived = len(gc.get_objects(generation=2))
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> int:
        """Collect the oldest generation that is due; returns the objects freed. The oldest is
        weighed only when the middle one is due anyway, so its size is counted at most once per
        middle collection (about every 7 000 allocations)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        middle_due = bool(thresholds[1]) and counts[1] > thresholds[1]
        if middle_due and thresholds[2] and counts[2] > thresholds[2] and self._grown():
            freed = gc.collect(2)
            self._long_lived = len(gc.get_objects(generation=2))
            return freed
        if middle_due:
            return gc.collect(1)
        if thresholds[0] and counts[0] > thresholds[0]:
            return gc.collect(0)
        return 0

    def _grown(self) -> bool:
        """Whether the oldest generation grew by :data:`GROWTH` since the last full collection."""
        return len(gc.get_objects(generation=2)) > (1 + GROWTH) * self._long_lived


def install(app: QCoreApplication) -> GuiThreadCollector:
    """The application's collector, created on first call (call it from the GUI thread); the first
    call also freezes the start-up objects (:func:`freeze_startup`)."""
    existing = app.findChild(GuiThreadCollector)
    if existing is not None:
        return existing
    freeze_startup()
    return GuiThreadCollector(app)
