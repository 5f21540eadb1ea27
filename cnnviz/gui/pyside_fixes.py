"""Work-arounds for bugs of the Qt bindings that would otherwise crash cnnviz.

PySide6 6.12's ``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so every
signal emitted from Python (by cnnviz or by pyqtgraph, e.g. on each mouse move over a plot) takes one
reference away from ``True``. After some thousands of emits ``True`` is freed and the interpreter
aborts with "bool_dealloc: deallocating True or False". Python 3.12 and later make ``True`` and
``False`` immortal, which makes the bug harmless; on older CPython :func:`protect_bool_singletons`
gives both so many references (2**40) that no session can use them up.
"""

import ctypes
import sys

BOOL_MARGIN = 1 << 40
"""References added to True and False on Python < 3.12."""

_protected = False


def protect_bool_singletons() -> bool:
    """Make True and False effectively immortal on CPython < 3.12 (once per process); True if done."""
    global _protected
    if _protected or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _protected
    for value in (True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += BOOL_MARGIN
    _protected = True
    return True
