"""Work-arounds for bugs of the Qt bindings that would otherwise crash cnnviz.

PySide6 6.12 drops references it never took to three singletons:

- ``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so every signal
  emitted from Python (by cnnviz or by pyqtgraph, e.g. on each mouse move over a plot) takes one
  reference away from ``True``;
- every callable run by ``QThreadPool.start()``, and every signal emitted from a pool thread, takes
  one reference away from ``None``.

After some thousands of these the singleton is freed and the interpreter aborts ("bool_dealloc" or
"none_dealloc: deallocating None"). Python 3.12 and later make ``None``, ``True`` and ``False``
immortal, which makes the bugs harmless; on older CPython :func:`protect_singletons` gives each so
many references (2**40) that no session can use them up.
"""

import ctypes
import sys

REFERENCE_MARGIN = 1 << 40
"""References added to None, True and False on CPython < 3.12."""

_protected = False


def protect_singletons() -> bool:
    """Make None, True and False effectively immortal on CPython < 3.12 (once per process); True if
    the references were added (now or before)."""
    global _protected
    if _protected or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _protected
    for value in (None, True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += REFERENCE_MARGIN
    _protected = True
    return True
