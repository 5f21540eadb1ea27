"""Finding top-level widgets a test left alive (used by the ``no_leaked_widgets`` fixture of conftest.py).

Widgets are remembered by the address of their C++ object, so remembering them keeps no Python
wrapper (and with it no Python-owned widget) alive.
"""

import gc

import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QWidget


def widget_address(widget: QWidget) -> int:
    """The address of ``widget``'s C++ object."""
    return shiboken6.getCppPointer(widget)[0]


def top_level_addresses() -> set[int]:
    """Addresses of every top-level widget (window) alive now."""
    return {widget_address(widget) for widget in QApplication.topLevelWidgets()}


def delete_pending() -> None:
    """Collect Python garbage on this (the GUI) thread and run the deferred deletions and events it caused."""
    for _ in range(3):
        gc.collect()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


def describe(widget: QWidget) -> str:
    """``ClassName('objectName')`` of a widget, with its C++ class when Python knows it by another name."""
    cpp_class = widget.metaObject().className()
    name = type(widget).__name__
    label = name if cpp_class == name else f"{name}/{cpp_class}"
    return f"{label}({widget.objectName()!r})"


def new_top_level_widgets(before: set[int]) -> list[str]:
    """Descriptions of the top-level widgets alive now, after pending deletions, that were not in ``before``
    (addresses from :func:`top_level_addresses`)."""
    delete_pending()
    return sorted(
        describe(widget)
        for widget in QApplication.topLevelWidgets()
        if widget_address(widget) not in before
    )
