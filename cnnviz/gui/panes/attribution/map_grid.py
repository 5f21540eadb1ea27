"""The maps of the Attribution pane: up to four columns, each a map over the input with its caption,
its metrics row and, where the randomisation test says so, a warning.

:func:`display_map` is the only scaling done for display (absolute value from 0, or signed around 0);
:func:`metrics_text` writes a panel's metrics as they come from the core. :class:`MapGrid` only
draws what the pane hands it.
"""

from dataclasses import dataclass
from html import escape

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from cnnviz.core.per_image.attribution import metrics
from cnnviz.gui.panes.attribution.controls import MAX_PANELS, method_title
from cnnviz.gui.panes.attribution.jobs import PanelResult
from cnnviz.gui.widgets.layouts import stack, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e")
"""Each column's colour (its swatch in the title and its lines in the curves plot)."""
COLUMN_WIDTH = 140
"""Least width of one map's column, in pixels (the colour bar and a readable map); the figure scrolls
rather than squeeze them."""
WARNING_STYLE = ("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c068; "
                 "border-radius: 3px; padding: 3px 6px; }")


def display_map(values: np.ndarray, display: str) -> tuple[np.ndarray, tuple[float, float]]:
    """A map [H, W] ready to draw and its levels: ``"abs"`` shows |map| over (0, max |map|), ``"signed"``
    the map over (−m, m) with m = max |map| (0 at the colormap's centre)."""
    peak = float(np.abs(values).max()) if values.size else 0.0
    peak = peak if peak > 0 else 1.0
    if display == "signed":
        return values, (-peak, peak)
    return np.abs(values), (0.0, peak)


def final_record(result: PanelResult) -> "metrics.RandomisationStep | None":
    """The randomisation record with every layer re-initialised (the last), None before the test ran
    (or when the model had nothing to re-initialise)."""
    records = result.randomisation
    return records[-1] if records and records[-1].layers else None


def insensitive(result: PanelResult) -> bool:
    """True when the randomisation test found that the map barely changes when the weights are
    destroyed (:func:`cnnviz.core.per_image.attribution.metrics.insensitive`)."""
    records = result.randomisation
    return records is not None and final_record(result) is not None and metrics.insensitive(records)


def _value(result: PanelResult, part: str, text: str, wanted: bool) -> str:
    if result.error(part):
        return f"{text}: failed"
    if not wanted:
        return ""
    value = getattr(result, part)
    return f"{text} {value.auc:.3f}" if value is not None else f"{text} …"


def metrics_text(result: PanelResult, parts: tuple[str, ...]) -> str:
    """The metrics row: deletion and insertion AUCs (3 decimals; "…" while pending) and, once the
    randomisation test ran, the rank correlation and SSIM with every layer re-initialised."""
    texts = [_value(result, "deletion", "deletion AUC", "deletion" in parts),
             _value(result, "insertion", "insertion AUC", "insertion" in parts)]
    record = final_record(result)
    if result.error("randomisation"):
        texts.append("randomisation: failed")
    elif record is not None:
        texts.append(f"random weights: ρ {float(record.spearman):.3f}, SSIM {float(record.ssim):.3f}")
    elif "randomisation" in parts:
        texts.append("randomisation …")
    return " · ".join(t for t in texts if t)


@dataclass(frozen=True)
class Look:
    """How maps are drawn: ``display`` ("abs" or "signed"), ``colormap`` key and ``opacity`` in [0, 1]."""

    display: str
    colormap: str
    opacity: float


class MapColumn(QWidget):
    """One map over the input, titled, with its caption, metrics row and randomisation warning;
    ``values`` is the map drawn ([H, W], None while there is none) and ``label`` its title."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = colour
        self.panel = MapPanel(colorbar=True)
        self.metrics = QLabel()
        self.metrics.setWordWrap(True)
        self.flag = wrapped_label()
        self.flag.setStyleSheet(WARNING_STYLE)
        self.flag.hide()
        self.values: np.ndarray | None = None
        self.label = ""
        self._shown: tuple | None = None
        stack(self, self.panel, self.metrics, self.flag, spacing=2)
        self.setMinimumWidth(COLUMN_WIDTH)

    def least_height(self, width: int) -> int:
        """The least height in pixels at ``width`` that shows the map and every wrapped line of its labels."""
        labels = [w for w in (self.panel.title, self.panel.detail, self.metrics, self.flag)
                  if not w.isHidden() and w.text()]
        layout, panel_layout = self.layout(), self.panel.layout()
        assert layout is not None and panel_layout is not None  # both are laid out in their __init__
        spacing = layout.spacing() + panel_layout.spacing()
        return (self.panel.canvas.minimumHeight() + sum(label.heightForWidth(width) for label in labels)
                + spacing * (len(labels) + 1))

    def clear(self) -> None:
        """Show nothing."""
        self.values = None
        self.label = ""
        self._shown = None
        self.panel.canvas.clear_image()
        self.panel.set_title("")
        self.panel.detail.clear()
        self.metrics.clear()
        self.flag.hide()

    def show_result(self, result: PanelResult, title: str, pixels: np.ndarray | None, look: Look,
                    parts: tuple[str, ...]) -> None:
        """Draw ``result`` (its map over the input ``pixels``, 8-bit [H, W] or [H, W, 3]) titled ``title``;
        nothing is redrawn when the same result is shown the same way."""
        shown = self._shown
        if (shown is not None and shown[0] is result and shown[1] is pixels
                and shown[2:] == (title, look, parts)):
            return
        self._shown = (result, pixels, title, look, parts)
        canvas = self.panel.canvas
        self.label = title
        self.panel.set_title(f"<span style='color:{self.colour}'>■</span> {escape(title)}")
        if pixels is not None:
            canvas.set_image(pixels, (0, 255))
        a = result.attribution
        if a is None:
            self.values = None
            canvas.set_overlay(None)
            self.panel.detail.setText(f"Failed: {escape(result.error('map'))}" if result.error("map")
                                      else "Computing…")
        else:
            self.values = a.map.numpy()
            drawn, levels = display_map(self.values, look.display)
            canvas.set_overlay(drawn, levels, look.colormap, look.opacity)
            canvas.set_colorbar(levels, look.colormap)
            gap = f" · completeness gap {a.completeness_gap:.2%}" if a.completeness_gap is not None else ""
            self.panel.detail.setText(escape(a.caption()) + gap)
        self.metrics.setText(metrics_text(result, parts))
        record = final_record(result)
        self.flag.setVisible(insensitive(result))
        if record is not None:
            self.flag.setText(f"⚠ <b>Barely changes with random weights</b> (ρ = {float(record.spearman):.2f})")
            self.flag.setToolTip(f"{method_title(result.key.method)}'s map stays alike when every layer is "
                                 "re-initialised: it shows the image more than what the model learnt "
                                 "(Adebayo et al. 2018)")


class MapGrid(QWidget):
    """:data:`MAX_PANELS` columns side by side; only as many as there are maps are shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = [MapColumn(colour) for colour in COLOURS[:MAX_PANELS]]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
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
