"""The figure of the Feature space pane: the kept map (shown after *Keep for comparison*), the current map and
the class legend, each map a :class:`~cnnviz.gui.panes.features.scatter.MapView` of a feature space analysis
:class:`~cnnviz.analyses.feature_space.FeatureSpaceResult` (a partial one while t-SNE runs).

Hiding a class in the legend hides it in both maps; what the pointer does on a map is relayed as
``hovered(slot, row)``, ``clicked(slot, row)`` and ``selected(slot, rows)``, slot 0 the kept map and 1 the
current one, rows those of the map's features.
"""

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.gui.panes.features.controls import METHOD_TITLES, caption
from cnnviz.gui.panes.features.legend import ClassLegend
from cnnviz.gui.panes.features.scatter import MapView


class MapsView(QWidget):
    """See the module docstring. ``views``: [kept map, current map]; ``legend``: the class legend."""

    hovered = Signal(int, int)
    clicked = Signal(int, int)
    selected = Signal(int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = [MapView(), MapView()]
        self.views[0].hide()  # the kept map, shown by keep()
        self.legend = ClassLegend()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for slot, view in enumerate(self.views):
            layout.addWidget(view, 1)
            view.hovered.connect(lambda row, slot=slot: self.hovered.emit(slot, row))
            view.clicked.connect(lambda row, slot=slot: self.clicked.emit(slot, row))
            view.selected.connect(lambda rows, slot=slot: self.selected.emit(slot, rows))
        layout.addWidget(self.legend)
        self.legend.hidden_changed.connect(self._hidden_changed)

    def show_partial(self, result: FeatureSpaceResult, done: int, total: int, kept: bool) -> None:
        """Show the partial map ``result`` (``done`` of ``total`` steps) as the current map, moving the points
        of the one shown when the images are the same; the legend follows it unless a map is ``kept``."""
        f, xy, view = result.features, result.embedding.xy, self.views[1]
        if view.count != len(xy):
            if not kept:
                self.legend.set_classes(f.classes, f.labels, len(xy))
            view.set_map(xy, f.labels, "")
            view.set_hidden(self.legend.hidden)
        else:
            view.move_points(xy)
        view.set_caption(f"{METHOD_TITLES[result.embedding.method]} of {escape(f.layer)}: {done} / {total} steps")

    def show_map(self, result: FeatureSpaceResult, kept: bool) -> None:
        """Show the finished map ``result`` as the current map; the legend follows it unless a map is ``kept``."""
        f = result.features
        self.views[1].set_map(result.embedding.xy, f.labels, caption(result))
        self.views[1].set_hidden(self.legend.hidden)
        if not kept:
            self.legend.set_classes(f.classes, f.labels, len(f.images))

    def keep(self, result: FeatureSpaceResult) -> None:
        """Show ``result`` (the current map) as the kept map, the current map's place empty."""
        self.views[0].set_map(result.embedding.xy, result.features.labels, caption(result))
        self.views[0].set_hidden(self.legend.hidden)
        self.views[0].show()
        self.views[1].clear()
        self.views[1].set_caption("Compute another map to compare it with the kept one.")

    def clear(self) -> None:
        """Show no map (the kept one hidden) and no legend."""
        for view in self.views:
            view.clear()
        self.views[0].hide()
        self.legend.set_classes([], None, 0)

    def set_select_mode(self, mode: str) -> None:
        """What dragging does on both maps (:data:`~cnnviz.gui.panes.features.scatter.SELECT_MODES`)."""
        for view in self.views:
            view.box.mode = mode

    def _hidden_changed(self, hidden: frozenset[int]) -> None:
        for view in self.views:
            view.set_hidden(hidden)
