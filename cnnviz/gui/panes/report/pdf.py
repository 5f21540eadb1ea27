"""A report as PDF: :func:`cnnviz.core.report.report_html` laid out by a QTextDocument on A4 pages.

Each figure starts a new page and is as wide as the text (narrower if it would take more than
:data:`MAX_IMAGE_HEIGHT` of the page's height), with its caption text and parameter table under it; the
environment table follows the last figure. Images keep their full resolution inside the PDF.
"""

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from cnnviz.core.report import ReportItem, png_size, report_html

MARGIN_MM = 15.0
PX_PER_POINT = 96 / 72
"""Document pixels per PDF point: the document is laid out at 96 pixels per inch, then fitted to the page."""
MAX_IMAGE_HEIGHT = 0.7
"""Largest share of the text height an image may take."""
FONT_POINTS = 9


def page_layout() -> QPageLayout:
    """A4 portrait with :data:`MARGIN_MM` margins."""
    margins = QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM)
    return QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, margins,
                       QPageLayout.Unit.Millimeter)


def image_width(png: bytes, page: QSizeF) -> int:
    """The width in document pixels of a figure on a page of ``page`` (document pixels): the page's width,
    or less so that its height stays within :data:`MAX_IMAGE_HEIGHT` of the page's."""
    width, height = png_size(png)
    fitted = min(page.width(), page.height() * MAX_IMAGE_HEIGHT * width / max(height, 1))
    return max(1, int(fitted))


def report_document(items: Sequence[ReportItem], environment: dict[str, str], page: QSizeF) -> QTextDocument:
    """The report laid out on pages of ``page`` (document pixels), the images as the document's resources."""
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(QFont(document.defaultFont().family(), FONT_POINTS))
    document.setPageSize(page)
    names = [f"cnnviz-report-{index}.png" for index in range(len(items))]
    for name, item in zip(names, items):
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), QImage.fromData(item.png))
    widths: list[int | None] = [image_width(item.png, page) for item in items]
    document.setHtml(report_html(items, environment, sources=names, widths=widths, page_breaks=True))
    return document


def write_pdf(items: Sequence[ReportItem], path: str | Path, environment: dict[str, str]) -> Path:
    """Write the report to ``path`` as PDF (``.pdf`` added without a suffix, folders created); returns the
    path. Raises OSError if it cannot be written."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(path))
    writer.setPageLayout(page_layout())
    writer.setTitle("cnnviz report")
    writer.setCreator("cnnviz")
    paint = writer.pageLayout().paintRect(QPageLayout.Unit.Point)
    page = QSizeF(paint.width() * PX_PER_POINT, paint.height() * PX_PER_POINT)
    report_document(items, environment, page).print_(writer)
    del writer
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path
