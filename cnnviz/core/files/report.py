"""A report: figures collected with their captions, written as one self-contained HTML file.

A :class:`ReportItem` holds a figure as PNG bytes, the :class:`~cnnviz.core.files.caption.Caption` of what made
it and a caption text the user may edit. :func:`report_html` lays the items out one after another, each
figure followed by its caption text and a table of its parameters (:meth:`Caption.items`), and ends with a
table of the versions and device (:func:`environment_info`). Figures are embedded as base64 ``data:``
URIs, so :func:`write_html` writes a single file that opens anywhere. Every text is HTML-escaped.
"""

import base64
import html
import platform
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

import cnnviz
from cnnviz.core.files.caption import Caption

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_TITLE = "cnnviz report"
STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
figure { margin: 0 0 2.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption p { margin: 0.5em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
"""


@dataclass(frozen=True)
class ReportItem:
    """One figure of a report: ``title``, the figure as ``png`` bytes, the ``caption`` of what made it
    and ``text``, the caption text shown under the figure (the caption's own text unless edited)."""

    title: str
    png: bytes
    caption: Caption
    text: str

    @classmethod
    def of(cls, title: str, png: bytes, caption: Caption) -> "ReportItem":
        """An item whose text is ``caption.text()``."""
        return cls(title, png, caption, caption.text())


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of the PNG image ``png``, read from its header; ValueError if ``png``
    is not a PNG image."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def data_uri(png: bytes) -> str:
    """``png`` as a ``data:image/png;base64,…`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def environment_info(device: str) -> dict[str, str]:
    """Versions of cnnviz, torch, torchvision and Python, the platform and ``device`` (e.g. ``"cpu"``),
    in display order."""
    try:
        import torchvision

        vision = str(torchvision.__version__)
    except ImportError:
        vision = "not installed"
    return {"cnnviz": cnnviz.__version__, "torch": str(torch.__version__), "torchvision": vision,
            "Python": platform.python_version(), "platform": platform.platform(), "device": device}


def table_html(rows: Sequence[tuple[str, str]], heading: tuple[str, str] = ("Parameter", "Value")) -> str:
    """A two-column HTML table of ``rows`` (name, value) under ``heading``, escaped."""
    head = f"<tr><th>{html.escape(heading[0])}</th><th>{html.escape(heading[1])}</th></tr>"
    body = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>" for name, value in rows)
    return f'<table border="1" cellspacing="0" cellpadding="3">{head}{body}</table>'


def text_html(text: str) -> str:
    """``text`` escaped, its line breaks kept as ``<br>``."""
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def item_html(item: ReportItem, number: int, source: str, width: int | None = None) -> str:
    """The HTML of ``item`` as figure ``number`` (from 1): its title, the image from ``source`` (a URI or
    a resource name), ``width`` pixels wide if given (its height follows), the caption text and the
    parameter table."""
    size = f' width="{width}"' if width is not None else ""
    alt = html.escape(item.title, quote=True)
    return (f'<figure><h2>Figure {number}. {html.escape(item.title)}</h2>'
            f'<p><img src="{html.escape(source, quote=True)}" alt="{alt}"{size}></p>'
            f"<figcaption><p>{text_html(item.text)}</p></figcaption>"
            f"{table_html(item.caption.items())}</figure>")


def report_html(items: Sequence[ReportItem], environment: dict[str, str], *,
                sources: Sequence[str] | None = None, widths: Sequence[int | None] | None = None,
                title: str = DEFAULT_TITLE, page_breaks: bool = False) -> str:
    """The whole report as an HTML document: ``items`` in order, then the ``environment`` table.

    ``sources``: each image's ``src`` (default: the PNG as a :func:`data_uri`); ``widths``: each image's
    width in pixels (default: none, the style sheet fits it to the page); ``page_breaks``: start each
    figure after the first on a new page (for printing).
    """
    sources = list(sources) if sources is not None else [data_uri(item.png) for item in items]
    widths = list(widths) if widths is not None else [None] * len(items)
    if len(sources) != len(items) or len(widths) != len(items):
        raise ValueError("one source and one width per item")
    parts = []
    for number, (item, source, width) in enumerate(zip(items, sources, widths), start=1):
        brk = ' style="page-break-before: always;"' if page_breaks and number > 1 else ""
        parts.append(f"<div{brk}>{item_html(item, number, source, width)}</div>")
    environment_part = ("<h2>Environment</h2>" + table_html(list(environment.items()), ("Component", "Version")))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{''.join(parts)}{environment_part}</body></html>\n")


def write_html(items: Sequence[ReportItem], path: str | Path, environment: dict[str, str]) -> Path:
    """Write :func:`report_html` of ``items`` to ``path`` (UTF-8; ``.html`` added without a suffix,
    folders created); returns the path. Raises OSError."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(items, environment), encoding="utf-8")
    return path
