"""Hover and click reports shared by the pyqtgraph views (atlas, map and vector views).

A view maps a scene position to the item under it with ``item_at(scene_pos)``: an index (int) or a
pixel (row, col), None where there is nothing. :class:`PointerReports` watches the view's scene and
emits the view's ``hovered`` signal when the hovered item changes (``nothing`` when the mouse is
over no item or leaves the view) and ``clicked`` for a left click on an item; a tuple item is
emitted as separate signal arguments. :func:`hover_left` reports the mouse gone for a while (an
export shows a figure as without a hover).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt, SignalInstance

if TYPE_CHECKING:
    # pyqtgraph ships no type information: the views this mixes into are untyped (Any) to mypy.
    from pyqtgraph import GraphicsView as _ViewBase
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
else:
    _ViewBase = object

Item = int | tuple[int, int]


def emit_item(signal: SignalInstance, item: Item) -> None:
    """Emit ``signal`` with ``item``, a tuple item as separate arguments."""
    if isinstance(item, tuple):
        signal.emit(*item)
    else:
        signal.emit(item)


class PointerReports(_ViewBase):
    """Mixin for a pyqtgraph ``GraphicsView`` subclass with ``hovered`` and ``clicked`` signals.

    The view calls :meth:`track_pointer` once in ``__init__`` and implements :meth:`item_at`; it may
    override :meth:`double_clicked` (a left double click reports no click).
    """

    def track_pointer(self, nothing: Item) -> None:
        """Start reporting; ``nothing`` is what ``hovered`` reports when no item is under the mouse."""
        self._nothing = nothing
        self._hovered = nothing
        self.scene().sigMouseMoved.connect(self._pointer_moved)
        self.scene().sigMouseClicked.connect(self._pointer_clicked)

    def item_at(self, scene_pos: QPointF) -> Item | None:
        """The item under scene position ``scene_pos``, or None."""
        raise NotImplementedError

    def double_clicked(self) -> None:
        """Called for a left double click; does nothing unless overridden."""

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        """Report that nothing is hovered any more."""
        super().leaveEvent(event)
        self._report_hovered(self._nothing)

    def _report_hovered(self, item: Item) -> None:
        if item != self._hovered:
            self._hovered = item
            emit_item(self.hovered, item)

    def _pointer_moved(self, scene_pos: QPointF) -> None:
        item = self.item_at(scene_pos)
        self._report_hovered(self._nothing if item is None else item)

    def _pointer_clicked(self, event: "MouseClickEvent") -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if event.double():
            self.double_clicked()
            return
        item = self.item_at(event.scenePos())
        if item is not None:
            emit_item(self.clicked, item)


@contextmanager
def hover_left(views: Iterable[PointerReports]) -> Iterator[None]:
    """Report "nothing hovered" from each of ``views`` while the block runs, then report again what
    each was hovering (a pane undoes and redoes what the hover showed)."""
    views = list(views)
    hovered = [view._hovered for view in views]
    for view in views:
        view._report_hovered(view._nothing)
    try:
        yield
    finally:
        for view, item in zip(views, hovered):
            view._report_hovered(item)
