"""Rendering a pane's figure for a report: PNG, SVG or PDF at a chosen width, whatever the window's size.

The figure widget is laid out at a fixed logical size (:data:`LAYOUT_WIDTH` pixels wide, as tall as
its export aspect or its minimum size asks), painted scaled to the target and then given back its
size in the window. Marks that only follow the mouse or the selection (hover lines, selection boxes,
"hover for …" hints; see :func:`mark_transient`) are hidden while it is painted, and cosmetic pens are widened by
the scale (:mod:`~cnnviz.gui.widgets.figure_pens`) so that lines keep their share of the width; a
pane may put its figure in another state while it is rendered (:func:`while_exported`). Widgets registered
with :func:`export_beside` are drawn to the left of the figure (the Deep dream pane's image beside
its curves). An optional caption strip (:meth:`cnnviz.core.files.caption.Caption.lines`) is painted under
the figure at about :data:`CAPTION_PT` points of the output, its lines wrapped to the figure's width.

Sizes: the PNG is ``ExportOptions.pixel_width()`` pixels wide and carries the DPI in its header; the
SVG and the PDF (one page, sized to the figure) are ``ExportOptions.physical_width_mm()`` wide.
Pictures inside them (maps, images) stay raster; lines and text are vectors.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPoint, QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QRegion,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsView, QLabel, QWidget

from cnnviz.core.files.caption import Caption
from cnnviz.gui.widgets.figure_pens import pens_scaled

LAYOUT_WIDTH = 1100
"""Logical width (pixels) at which every figure is laid out for export."""
DEFAULT_ASPECT = 0.6
"""Height / width of a figure laid out for export, unless it sets its own (:func:`set_export_aspect`)."""
CAPTION_PT = 7.5
"""Size of the caption strip's text in points of the output (at its physical width)."""
CAPTION_COLOUR = "#222222"
MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0
TRANSIENT = "cnnviz_transient"
"""Property (widgets) or attribute (graphics items) marking what an export leaves out."""
CAPTION_FLAGS = int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
_ASPECT = "cnnviz_export_aspect"
_BESIDE = "_cnnviz_export_beside"
_STATE = "_cnnviz_export_state"
FORMATS = ("png", "svg", "pdf")
"""The figure formats, by file suffix."""


@dataclass(frozen=True)
class ExportOptions:
    """How large an export is: ``width_mm`` wide at ``dpi`` dots per inch, or ``width_px`` pixels
    wide when given (its physical width then follows from ``dpi``); ``caption``: paint the caption
    strip under the figure."""

    width_mm: float = 170.0
    dpi: int = 300
    width_px: int | None = None
    caption: bool = True

    def pixel_width(self) -> int:
        """Width of the PNG in pixels: ``width_px``, else ``width_mm`` at ``dpi`` (170 mm at 300 dpi: 2008)."""
        return int(self.width_px) if self.width_px else round(self.width_mm / MM_PER_INCH * self.dpi)

    def physical_width_mm(self) -> float:
        """Width of the figure on paper, in millimetres."""
        return self.width_px / self.dpi * MM_PER_INCH if self.width_px else float(self.width_mm)


def mark_transient(*things: QWidget | QGraphicsItem) -> None:
    """Leave ``things`` out of exports: graphics items and widgets are hidden while a figure is rendered
    (a label keeps its place but shows no text), then shown again as they were."""
    for thing in things:
        if isinstance(thing, QWidget):
            thing.setProperty(TRANSIENT, True)
        else:
            setattr(thing, TRANSIENT, True)


def set_export_aspect(figure: QWidget, aspect: float) -> None:
    """Lay ``figure`` out ``aspect`` × its width tall in exports (default :data:`DEFAULT_ASPECT`)."""
    figure.setProperty(_ASPECT, float(aspect))


def export_beside(figure: QWidget, widget: QWidget, share: float = 0.4) -> None:
    """Draw ``widget`` to the left of ``figure`` in its exports, taking ``share`` of the width."""
    setattr(figure, _BESIDE, (widget, float(share)))


def while_exported(figure: QWidget, state: Callable[[], AbstractContextManager]) -> None:
    """Render ``figure`` inside ``state()``: a context that shows what exports should show (e.g. the
    state before a hover changed the figure) and puts the window's state back on leaving."""
    setattr(figure, _STATE, state)


def _export_state(figure: QWidget) -> AbstractContextManager:
    state = getattr(figure, _STATE, None)
    return state() if state is not None else nullcontext()


@dataclass(frozen=True)
class _Part:
    widget: QWidget
    rect: QRect


def _aspect(widget: QWidget) -> float:
    value = widget.property(_ASPECT)
    return float(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_ASPECT


def _height(widget: QWidget, width: int) -> int:
    """Height of ``widget`` laid out ``width`` logical pixels wide: its aspect, or its minimum if taller."""
    least = widget.minimumSizeHint().height() if widget.layout() is not None else 0
    return max(round(width * _aspect(widget)), least, 1)


def figure_parts(figure: QWidget) -> list[_Part]:
    """The widgets of an export of ``figure`` with their logical rectangles: the figure, and what
    :func:`export_beside` put left of it, side by side at the height of the taller."""
    beside = getattr(figure, _BESIDE, None)
    if beside is None:
        return [_Part(figure, QRect(0, 0, LAYOUT_WIDTH, _height(figure, LAYOUT_WIDTH)))]
    widget, share = beside
    left = round(LAYOUT_WIDTH * share)
    height = max(_height(widget, left), _height(figure, LAYOUT_WIDTH - left))
    return [_Part(widget, QRect(0, 0, left, height)), _Part(figure, QRect(left, 0, LAYOUT_WIDTH - left, height))]


def _settle() -> None:
    QApplication.processEvents()
    QApplication.processEvents()


@contextmanager
def laid_out(parts: list[_Part]) -> Iterator[None]:
    """Resize each part's widget to its rectangle's size (restored afterwards, as in the window)."""
    saved = [(part.widget, part.widget.geometry()) for part in parts]
    try:
        for _attempt in range(3):
            for part in parts:
                part.widget.resize(part.rect.size())
            _settle()
            if all(part.widget.size() == part.rect.size() for part in parts):
                break
        yield
    finally:
        for widget, geometry in saved:
            widget.setGeometry(geometry)
        _settle()


@contextmanager
def transients_hidden(widgets: list[QWidget]) -> Iterator[None]:
    """Hide the marked graphics items and widgets (blank the marked labels) inside ``widgets``."""
    undo: list = []
    for root in widgets:
        for child in [root, *root.findChildren(QWidget)]:
            if child.property(TRANSIENT):
                if isinstance(child, QLabel):
                    undo.append((child.setText, child.text()))
                    child.setText("")
                elif child.isVisibleTo(root) or child is root:
                    undo.append((child.setVisible, True))
                    child.setVisible(False)
        for view in [root, *root.findChildren(QGraphicsView)]:
            if isinstance(view, QGraphicsView) and view.scene() is not None:
                for item in view.scene().items():
                    if getattr(item, TRANSIENT, False) and item.isVisible():
                        undo.append((item.setVisible, True))
                        item.setVisible(False)
    try:
        yield
    finally:
        for setter, value in reversed(undo):
            setter(value)


def caption_font(options: ExportOptions) -> QFont:
    """The caption strip's font in logical (layout) units: :data:`CAPTION_PT` points of the output."""
    mm_per_logical = options.physical_width_mm() / LAYOUT_WIDTH
    logical_px = CAPTION_PT / POINTS_PER_INCH * MM_PER_INCH / mm_per_logical
    font = QFont()
    font.setPixelSize(max(1, round(logical_px)))
    return font


def _caption_text(caption: Caption | None, options: ExportOptions) -> str:
    return "\n".join(caption.lines()) if caption is not None and options.caption else ""


def _caption_rect(text: str, font: QFont, top: int) -> QRectF:
    """Where the caption ``text`` goes under a figure ending at ``top`` (logical units)."""
    if not text:
        return QRectF(0, top, LAYOUT_WIDTH, 0)
    metrics = QFontMetricsF(font)
    gap = metrics.height() * 0.6
    bounds = metrics.boundingRect(QRectF(0, 0, LAYOUT_WIDTH, 1e6), CAPTION_FLAGS, text)
    return QRectF(0, top + gap, LAYOUT_WIDTH, bounds.height() + gap / 2)


class _Render:
    """One export: the parts laid out, the caption and the total logical size."""

    def __init__(self, figure: QWidget, options: ExportOptions, caption: Caption | None) -> None:
        self.parts = figure_parts(figure)
        self.options = options
        self.text = _caption_text(caption, options)
        self.font = caption_font(options)
        bottom = max(part.rect.bottom() + 1 for part in self.parts)
        self.caption_rect = _caption_rect(self.text, self.font, bottom)
        self.size = QSize(LAYOUT_WIDTH, round(self.caption_rect.bottom()))

    def height_for(self, width: float) -> float:
        """The output's height for an output ``width`` (any unit)."""
        return width * self.size.height() / self.size.width()

    def paint(self, painter: QPainter, width: float) -> None:
        """Paint the export on ``painter``, scaled to ``width`` device units, on white."""
        scale = width / LAYOUT_WIDTH
        painter.save()
        painter.scale(scale, scale)
        painter.fillRect(QRect(QPoint(0, 0), self.size), QColor("white"))
        widgets = [part.widget for part in self.parts]
        # hiding may ask the window to lay out anew; lines scale with the figure (see figure_pens)
        with _export_state(widgets[-1]), transients_hidden(widgets), laid_out(self.parts), \
                pens_scaled(widgets, scale):
            for part in self.parts:
                part.widget.render(painter, part.rect.topLeft(), QRegion(),
                                   QWidget.RenderFlag.DrawChildren)
        if self.text:
            painter.setFont(self.font)
            painter.setPen(QColor(CAPTION_COLOUR))
            painter.drawText(self.caption_rect, CAPTION_FLAGS, self.text)
        painter.restore()


def _logical_dpi(figure: QWidget) -> int:
    return max(1, figure.logicalDpiX())


def render_image(figure: QWidget, options: ExportOptions | None = None, caption: Caption | None = None) -> QImage:
    """``figure`` (with its caption strip, if ``options.caption`` and ``caption``) as an RGB image
    ``options.pixel_width()`` pixels wide, with ``options.dpi`` as its resolution."""
    options = options or ExportOptions()
    render = _Render(figure, options, caption)
    width = options.pixel_width()
    image = QImage(width, max(1, round(render.height_for(width))), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    dots = round(_logical_dpi(figure) / MM_PER_INCH * 1000)
    image.setDotsPerMeterX(dots)
    image.setDotsPerMeterY(dots)
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    render.paint(painter, width)
    painter.end()
    per_metre = round(options.dpi / MM_PER_INCH * 1000)
    image.setDotsPerMeterX(per_metre)
    image.setDotsPerMeterY(per_metre)
    return image


def _target(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_png(figure: QWidget, path: str | Path, options: ExportOptions | None = None,
             caption: Caption | None = None) -> Path:
    """Save :func:`render_image` as PNG at ``path``; raises OSError."""
    path = _target(path)
    if not render_image(figure, options, caption).save(str(path), "PNG"):  # type: ignore[call-overload]  # stubs: bytes; runtime: str
        raise OSError(f"could not write {path}")
    return path


def save_svg(figure: QWidget, path: str | Path, options: ExportOptions | None = None,
             caption: Caption | None = None) -> Path:
    """Save the figure as SVG at ``path``, ``options.physical_width_mm()`` wide (pictures inside stay
    raster); raises OSError."""
    options = options or ExportOptions()
    path = _target(path)
    render = _Render(figure, options, caption)
    dpi = _logical_dpi(figure)
    width = options.physical_width_mm() / MM_PER_INCH * dpi
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setResolution(dpi)
    generator.setSize(QSize(round(width), round(render.height_for(width))))
    generator.setViewBox(QRectF(0, 0, width, render.height_for(width)))
    generator.setTitle("cnnviz figure")
    generator.setDescription(render.text)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    render.paint(painter, width)
    painter.end()
    if not path.is_file():
        raise OSError(f"could not write {path}")
    _exact_size(path, options.physical_width_mm(), render.height_for(options.physical_width_mm()))
    return path


def _exact_size(path: Path, width_mm: float, height_mm: float) -> None:
    """Write the SVG's width and height as exactly ``width_mm`` × ``height_mm`` (the generator rounds
    them to whole pixels of its resolution)."""
    text = path.read_text(encoding="utf-8")
    exact = f'<svg width="{width_mm:.6g}mm" height="{height_mm:.6g}mm"'
    path.write_text(re.sub(r'<svg width="[^"]*" height="[^"]*"', exact, text, count=1), encoding="utf-8")


def save_pdf(figure: QWidget, path: str | Path, options: ExportOptions | None = None,
             caption: Caption | None = None) -> Path:
    """Save the figure as a one-page PDF at ``path``, the page ``options.physical_width_mm()`` wide and
    as tall as the figure; raises OSError."""
    options = options or ExportOptions()
    path = _target(path)
    render = _Render(figure, options, caption)
    width_mm = options.physical_width_mm()
    writer = QPdfWriter(str(path))
    writer.setResolution(_logical_dpi(figure))
    writer.setCreator("cnnviz")
    writer.setTitle("cnnviz figure")
    page = QPageSize(QSizeF(width_mm, render.height_for(width_mm)), QPageSize.Unit.Millimeter, "figure",
                     QPageSize.SizeMatchPolicy.ExactMatch)
    writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0),
                                     QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"could not write {path}")
    render.paint(painter, writer.width())
    painter.end()
    return path


SAVERS = {"png": save_png, "svg": save_svg, "pdf": save_pdf}
"""Saving function of each figure format."""
