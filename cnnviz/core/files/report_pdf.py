"""A report as one PDF with matplotlib (no Qt): one A4 page per figure, with the figure's title, the figure,
its caption text and its parameter table, and a last page with the environment table.

:func:`write_pdf` takes the same :class:`~cnnviz.core.files.report.ReportItem` list the HTML report does. Text
is text in the PDF (TrueType fonts embedded), so captions can be searched and copied; the figures are the
exported PNGs, placed at their own aspect ratio.
"""

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image

from cnnviz.core.files.report import DEFAULT_TITLE, ReportItem

A4_INCHES = (8.27, 11.69)
MARGIN_IN = 0.7
TABLE_ROWS_PER_PAGE = 40
STYLE = {"pdf.fonttype": 42, "font.size": 8.0}


def item_title(item: ReportItem) -> str:
    """The page title of ``item``: its own title, or what its caption says the analysis used (the compared
    layers for Invariance, the layer, the method)."""
    if item.title:
        return item.title
    fields = item.caption.fields
    used = fields.get("layers") or fields.get("layer") or fields.get("method") or ""
    if isinstance(used, (list, tuple)):
        used = ", ".join(map(str, used))
    return f"{item.caption.analysis} — {used}" if used else item.caption.analysis


def _page(title: str) -> tuple[Figure, float]:
    page = Figure(figsize=A4_INCHES)
    page.text(MARGIN_IN / A4_INCHES[0], 1 - MARGIN_IN / A4_INCHES[1], title, fontsize=12, weight="bold",
              va="top", ha="left")
    return page, 1 - (MARGIN_IN + 0.45) / A4_INCHES[1]


def _table(page: Figure, rows: Sequence[tuple[str, str]], top: float, heading: tuple[str, str]) -> None:
    """``rows`` as a two-column table whose top edge is at ``top`` (figure fraction)."""
    height = min(top - MARGIN_IN / A4_INCHES[1], (len(rows) + 1) * 0.19 / A4_INCHES[1])
    left = MARGIN_IN / A4_INCHES[0]
    ax = page.add_axes((left, top - height, 1 - 2 * left, height))
    ax.axis("off")
    cells = [[name, value if len(value) <= 110 else value[:109] + "…"] for name, value in rows]
    table = ax.table(cellText=cells, colLabels=list(heading), loc="upper left", cellLoc="left",
                     colWidths=[0.25, 0.75], bbox=Bbox.from_bounds(0, 0, 1, 1))
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (row, _col), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if row == 0:
            cell.set_facecolor("#f2f2f2")


def item_pages(item: ReportItem, number: int) -> list[Figure]:
    """The page(s) of ``item`` as figure ``number``: title, figure, caption text, then the parameter table
    (continued on further pages where it is long, so that no page holds a lone row)."""
    page, top = _page(f"Figure {number}. {item_title(item)}")
    image = np.asarray(Image.open(io.BytesIO(item.png)).convert("RGB"))
    width = 1 - 2 * MARGIN_IN / A4_INCHES[0]
    height = min(width * A4_INCHES[0] * image.shape[0] / image.shape[1] / A4_INCHES[1], top * 0.62)
    ax = page.add_axes((MARGIN_IN / A4_INCHES[0], top - height, width, height))
    ax.imshow(image, interpolation="antialiased")
    ax.axis("off")
    text_top = top - height - 0.015
    lines = item.text.count("\n") + 1
    page.text(MARGIN_IN / A4_INCHES[0], text_top, item.text, fontsize=8, va="top", ha="left", wrap=True)
    rows = item.caption.items()
    chunks = [rows[i:i + TABLE_ROWS_PER_PAGE] for i in range(0, len(rows), TABLE_ROWS_PER_PAGE)]
    if len(chunks) > 1 and len(chunks[-1]) < 5:
        chunks[-2:] = [chunks[-2][:-5], chunks[-2][-5:] + chunks[-1]]
    pages = [page]
    table_top = text_top - (lines * 0.17 + 0.2) / A4_INCHES[1]
    room = int((table_top - MARGIN_IN / A4_INCHES[1]) * A4_INCHES[1] / 0.19) - 1
    first, rest = (rows[:room], rows[room:]) if room >= 5 else ([], rows)
    if len(rest) < 5 and first:
        first, rest = rows, []
    if first:
        _table(page, first, table_top, ("Parameter", "Value"))
    for start in range(0, len(rest), TABLE_ROWS_PER_PAGE):
        more, top_more = _page(f"Figure {number} (parameters, continued)")
        _table(more, rest[start:start + TABLE_ROWS_PER_PAGE], top_more, ("Parameter", "Value"))
        pages.append(more)
    return pages


def write_pdf(items: Sequence[ReportItem], path: str | Path, environment: dict[str, str], *,
              title: str = DEFAULT_TITLE) -> Path:
    """Write the report to ``path`` as PDF (``.pdf`` added without a suffix, folders created): each item's
    pages (:func:`item_pages`), then the environment table; returns the path. Raises OSError."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Title": title, "Creator": "cnnviz"}
    with mpl.rc_context(STYLE), PdfPages(path, metadata=metadata) as pdf:  # type: ignore[arg-type]
        for number, item in enumerate(items, start=1):
            for page in item_pages(item, number):
                pdf.savefig(page)
        page, top = _page(f"{title}: environment")
        _table(page, list(environment.items()), top, ("Component", "Version"))
        pdf.savefig(page)
    return path
