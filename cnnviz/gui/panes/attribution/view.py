"""The view of the Attribution pane: the attribution analysis's result on screen.

A :class:`Scene` says what to show: the maps planned (method, target class), the analysis's
:class:`~cnnviz.analyses.attribution.Map` of each that is computed (:func:`planned_maps`), the parts asked for and
how to draw them. :class:`AttributionView` draws it: a summary line, a warning where a guided or deconvnet pass met
nonlinearities without a rule, the maps side by side (:class:`~cnnviz.gui.panes.attribution.map_grid.MapGrid`) and
the curves below (:class:`~cnnviz.gui.panes.attribution.curves.CurvesPlot`). Hovering a map says its value there.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from cnnviz.analyses.attribution import ABS_COLORMAP, AttributionAnalysis, Map, method_title
from cnnviz.gui.panes.attribution.controls import Look
from cnnviz.gui.panes.attribution.curves import CurvesPlot
from cnnviz.gui.panes.attribution.map_grid import WARNING_STYLE, MapColumn, MapGrid
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layouts import wrapped_label


@dataclass(frozen=True)
class Scene:
    """What the view shows: in ``mode`` ("methods" or "classes") the ``planned`` maps, (method, target) each, with
    their computed ``maps`` (None where not yet), the ``parts`` asked for, drawn with ``look`` over the input
    ``pixels`` (8-bit [H, W] or [H, W, 3]); ``pending`` under a map not computed; ``note`` instead of the
    summary when nothing is planned."""

    mode: str = "methods"
    planned: tuple[tuple[str, int], ...] = ()
    maps: tuple[Map | None, ...] = ()
    parts: tuple[str, ...] = ()
    look: Look = field(default_factory=lambda: Look("abs", ABS_COLORMAP, 0.6))
    pixels: np.ndarray | None = None
    pending: str = "Computing…"
    note: str = ""


def planned_maps(result: AttributionAnalysis | None, planned: Sequence[tuple[str, int]]) -> tuple[Map | None, ...]:
    """The map of ``result`` for each of ``planned`` (method, target), None where it has none."""
    found = {(item.method, item.target): item for item in result.maps} if result is not None else {}
    return tuple(found.get((method, target)) for method, target in planned)


class AttributionView(QWidget):
    """See the module docstring. ``class_text(index)`` names a class (with its probability) for titles;
    ``partial_label`` goes at the end of the summary line. Signal ``hovered(text)``: the value under the
    pointer on a map."""

    hovered = Signal(str)

    def __init__(self, class_text: Callable[[int], str], partial_label: QWidget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_text = class_text
        self.summary = wrapped_label()
        self.warning = wrapped_label()
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        self.grid = MapGrid()
        self.curves = CurvesPlot()
        self.scene = Scene()
        self._pixels: tuple[Image.Image | None, np.ndarray | None] = (None, None)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(partial_label)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.grid)
        body.addWidget(self.curves)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([3000, 1000])  # the maps get three quarters of the height at first
        body.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.warning)
        layout.addWidget(body, 1)
        for column in self.grid.columns:
            column.panel.canvas.hovered.connect(lambda row, col, column=column: self._hovered(column, row, col))

    def pixels(self, seen: Image.Image | None) -> np.ndarray | None:
        """8-bit pixels of the input the network sees (``seen``), made once per input."""
        if self._pixels[0] is not seen:
            self._pixels = (seen, image_array(seen) if seen is not None else None)
        return self._pixels[1]

    def label(self, scene: Scene, method: str, target: int) -> str:
        """A map's title: its method (methods mode) or its class (classes mode)."""
        return method_title(method) if scene.mode == "methods" else self.class_text(target)

    def show_scene(self, scene: Scene) -> None:
        """Draw ``scene``; columns whose map and look did not change are not drawn again."""
        self.scene = scene
        self.grid.set_count(len(scene.planned))
        lines = []
        for column, (method, target), item in zip(self.grid.columns, scene.planned, scene.maps):
            title = self.label(scene, method, target)
            column.show_map(item, title, scene.pixels, scene.look, scene.parts, scene.pending)
            lines.append((title, column.colour, item))
        self.curves.show_maps(lines)
        self.grid.fit_height()
        self._show_summary(scene)
        self._show_warning(scene)

    def clear(self) -> None:
        """Show nothing."""
        self.scene = Scene()
        self.grid.clear()
        self.curves.clear()
        self.summary.clear()
        self.warning.hide()

    def _show_summary(self, scene: Scene) -> None:
        count = len(scene.planned)
        if not count:
            self.summary.setText(escape(scene.note))
        elif scene.mode == "methods":
            self.summary.setText(f"Target <b>{escape(self.class_text(scene.planned[0][1]))}</b>: "
                                 f"{count} method{'s' if count > 1 else ''}")
        else:
            self.summary.setText(f"<b>{escape(method_title(scene.planned[0][0]))}</b> for {count} classes: "
                                 "does the map depend on the class?")

    def _show_warning(self, scene: Scene) -> None:
        """Warn where a guided or deconvnet pass met nonlinearities without a rule (as the Deconvnet pane)."""
        notes = [f"<b>{escape(method_title(item.method))}</b> has no rule for {escape(', '.join(item.unhandled))}, "
                 "where the plain gradient passes through"
                 for item in scene.maps if item is not None and item.unhandled]
        self.warning.setVisible(bool(notes))
        if notes:
            self.warning.setText(f"⚠ <b>Not exact for this model:</b> {'; '.join(dict.fromkeys(notes))}. "
                                 "The gradient method is exact.")

    def _hovered(self, column: MapColumn, row: int, col: int) -> None:
        values = column.values
        if values is None or row < 0 or not (0 <= row < values.shape[0] and 0 <= col < values.shape[1]):
            return
        self.hovered.emit(f"{column.label} at ({row}, {col}): {values[row, col]:.4g}")
