"""The maps of the Attribution pane: up to four columns, each a map over the input with its caption,
its metrics row and, where the randomisation test says so, a warning.

The scaling for display is the analysis's (:func:`cnnviz.analyses.attribution.shown_values`: absolute value from 0,
or signed around 0); :func:`metrics_text` writes a map's metrics as the analysis's result holds them.
:class:`MapGrid` only draws what the pane hands it.
"""

from html import escape

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget
from superqt import QElidingLabel

from cnnviz.analyses.attribution import COLOURS, Map, method_title, shown_values
from cnnviz.gui.panes.attribution.controls import MAX_PANELS, Look
from cnnviz.gui.widgets.layouts import stack, wrapped_label
from cnnviz.gui.widgets.map_view import MARGINS, SPACING, MapPanel

QWIDGETSIZE_MAX = (1 << 24) - 1
"""Qt's largest widget size: no maximum."""

COLUMN_WIDTH = 140
"""Least width of one map's column, in pixels (the colour bar and a readable map); the figure scrolls
rather than squeeze them."""
COLUMN_GAP = 3
"""Pixels between two columns (the canvases' dark backgrounds already set the maps apart)."""
WARNING_STYLE = ("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c068; "
                 "border-radius: 3px; padding: 3px 6px; }")


def _auc(item: Map | None, part: str, text: str, wanted: bool) -> str:
    if not wanted:
        return ""
    curve = getattr(item, part) if item is not None else None
    return f"{text} {curve.auc:.3f}" if curve is not None else f"{text} …"


def metrics_text(item: Map | None, parts: tuple[str, ...]) -> str:
    """The metrics row of ``item`` (None: not computed yet) when ``parts`` are asked for: deletion and insertion
    AUCs (3 decimals; "…" while pending) and, once the randomisation test ran, the rank correlation and SSIM with
    every layer re-initialised; nothing for a map whose method failed."""
    if item is not None and item.failed:
        return ""
    texts = [_auc(item, "deletion", "deletion AUC", "deletion" in parts),
             _auc(item, "insertion", "insertion AUC", "insertion" in parts)]
    record = item.final_record if item is not None else None
    if record is not None:
        texts.append(f"random weights: ρ {float(record.spearman):.3f}, SSIM {float(record.ssim):.3f}")
    elif "randomisation" in parts:
        texts.append("randomisation …")
    return " · ".join(t for t in texts if t)


class MapColumn(QWidget):
    """One map over the input, titled, with its caption, metrics row and randomisation warning;
    ``values`` is the map drawn ([H, W], None while there is none) and ``label`` its title. A computed map's
    layer and parameters take one line (``params``, cut short with "…"; all of them in its tooltip), so that
    the maps keep their height; the panel's wrapped ``detail`` line says what is pending or why a method
    failed."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = colour
        self.panel = MapPanel(colorbar=True)
        self.params = QElidingLabel()
        self.params.setElideMode(Qt.TextElideMode.ElideRight)
        self.params.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.params.hide()
        self.metrics = QLabel()
        self.metrics.setWordWrap(True)
        self.flag = wrapped_label()
        self.flag.setStyleSheet(WARNING_STYLE)
        self.flag.hide()
        self.values: np.ndarray | None = None
        self.label = ""
        self._shown: tuple | None = None
        stack(self, self.panel, self.params, self.metrics, self.flag, stretch=(0,), spacing=2)
        self.setMinimumWidth(COLUMN_WIDTH)

    def least_height(self, width: int) -> int:
        """The least height in pixels at ``width`` that shows the map and every wrapped line of its labels."""
        labels = [w for w in (self.panel.title, self.panel.detail, self.params, self.metrics, self.flag)
                  if not w.isHidden() and w.text()]
        layout, panel_layout = self.layout(), self.panel.layout()
        assert layout is not None and panel_layout is not None  # both are laid out in their __init__
        spacing = layout.spacing() + panel_layout.spacing()
        heights = [label.heightForWidth(width) if label.wordWrap() else label.sizeHint().height() for label in labels]
        return self.panel.canvas.minimumHeight() + sum(heights) + spacing * (len(labels) + 1)

    def spare_height(self) -> int:
        """Pixels of the canvas's height its map does not use when the map is as wide as the canvas lets it be
        (negative: the height is what limits the map)."""
        canvas = self.panel.canvas
        left, top, right, bottom = MARGINS
        width = canvas.width() - left - right
        if canvas.colorbar is not None and canvas.colorbar.isVisible():
            width -= SPACING + int(canvas.colorbar.geometry().width())
        return canvas.height() - (width + top + bottom)

    def clear(self) -> None:
        """Show nothing."""
        self.values = None
        self.label = ""
        self._shown = None
        self.panel.canvas.clear_image()
        self.panel.set_title("")
        self.panel.detail.clear()
        self.params.clear()
        self.params.hide()
        self.metrics.clear()
        self.flag.hide()

    def show_map(self, item: Map | None, title: str, pixels: np.ndarray | None, look: Look,
                 parts: tuple[str, ...], pending: str = "Computing…") -> None:
        """Draw ``item`` (its map over the input ``pixels``, 8-bit [H, W] or [H, W, 3]; None: ``pending`` shows; a
        failed map: why, over the bare input) titled ``title`` with the metrics of ``parts``; nothing is redrawn
        when the same map is shown the same way."""
        shown = (item, pixels, title, look, parts, pending)
        before = self._shown
        if before is not None and before[0] is item and before[1] is pixels and before[2:] == shown[2:]:
            return
        self._shown = shown
        canvas = self.panel.canvas
        self.label = title
        self.panel.set_title(f"<span style='color:{self.colour}'>■</span> {escape(title)}")
        if pixels is not None:
            canvas.set_image(pixels, (0, 255))
        if item is None or item.failed:
            self.values = None
            canvas.set_overlay(None)
            if canvas.colorbar is not None:  # no scale without a map
                canvas.colorbar.hide()
            self.panel.detail.setText(escape(pending) if item is None else self._failure_text(item))
            self.panel.detail.setToolTip("" if item is None else item.described())
            self.panel.detail.show()
            self.params.hide()
        else:
            self.values = item.values
            drawn, low, high = shown_values(self.values, look.display)
            canvas.set_overlay(drawn, (low, high), look.colormap, look.opacity)
            canvas.set_colorbar((low, high), look.colormap)
            gap = f" · completeness gap {item.completeness_gap:.2%}" if item.completeness_gap is not None else ""
            # the title names the method: the detail line lists the layer and the parameters, short
            details = ([f"on {item.layer}"] if item.layer else []) + [f"{k} {v}" for k, v in item.params.items()]
            self.params.setText(" · ".join(details) + gap)
            self.params.setToolTip(item.described())
            self.params.show()
            self.panel.detail.clear()
            self.panel.detail.hide()
        self.metrics.setText(metrics_text(item, parts))
        self._show_flag(item)

    def _failure_text(self, item: Map) -> str:
        """Why ``item``'s method failed, in its cell in place of the map's details (HTML)."""
        return f"<span style='color:#8b1a1a'><b>Failed:</b> {escape(item.error)}</span>"

    def _show_flag(self, item: Map | None) -> None:
        record = item.final_record if item is not None else None
        self.flag.setVisible(bool(item is not None and item.insensitive))
        if item is not None and record is not None:
            self.flag.setText(f"⚠ <b>Barely changes with random weights</b> (ρ = {float(record.spearman):.2f})")
            self.flag.setToolTip(f"{method_title(item.method)}'s map stays alike when every layer is "
                                 "re-initialised: it shows the image more than what the model learnt "
                                 "(Adebayo et al. 2018)")


class MapGrid(QWidget):
    """:data:`MAX_PANELS` columns side by side; only as many as there are maps are shown. While maps are shown,
    the grid is no higher than square maps need (:meth:`fit_height`), so that a splitter gives the height their
    width leaves unused to the curves below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fit_pending = False
        self.columns = [MapColumn(colour) for colour in COLOURS[:MAX_PANELS]]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(COLUMN_GAP)
        for column in self.columns:
            layout.addWidget(column, 1)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """High enough for every wrapped caption line of the columns at their width (a splitter does
        not ask for the height for a width)."""
        hint = super().minimumSizeHint()
        heights = [column.least_height(column.width()) for column in self.columns if not column.isHidden()]
        return hint.expandedTo(QSize(0, max(heights, default=0)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Ask for a new least height when the width changes (captions wrap anew)."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()
        self.fit_height()

    def fit_height(self) -> None:
        """Cap the grid's height where its shown maps are square, once the layouts in progress are done (no cap
        while no map is shown)."""
        if not self._fit_pending:
            self._fit_pending = True
            QTimer.singleShot(0, self._fit_now)

    def _fit_now(self) -> None:
        self._fit_pending = False
        spares = [column.spare_height() for column in self.columns if column.isVisible() and column.values is not None]
        if not spares:
            self.setMaximumHeight(QWIDGETSIZE_MAX)
            return
        self.setMaximumHeight(max(self.minimumSizeHint().height(), self.height() - min(spares)))

    def set_count(self, count: int) -> None:
        """Show the first ``count`` columns (the others cleared and hidden)."""
        for index, column in enumerate(self.columns):
            column.setVisible(index < count)
            if index >= count:
                column.clear()

    def clear(self) -> None:
        """Show no map."""
        for column in self.columns:
            column.clear()
