"""Reports: one self-contained HTML file with the figures embedded, their captions and parameter tables,
and the versions."""

import base64
import html
import io
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from PIL import Image

import cnnviz
from cnnviz.core.files import report
from cnnviz.core.files.caption import Caption


def png_bytes(width: int, height: int, value: int) -> bytes:
    pixels = np.full((height, width, 3), value, dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class Collect(HTMLParser):
    """The images, the cell texts and all text of an HTML document; fails on unbalanced tags."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.cells: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        if tag not in self.VOID:
            self.open.append(tag)
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Collect:
    parser = Collect()
    parser.feed(text)
    parser.close()
    assert not parser.open
    return parser


def items() -> list[report.ReportItem]:
    first = Caption("occlusion", "squeezenet1_1", "pretrained", "0123456789ab", "cat <1>.png",
                    {"layer": "features.3", "window": 8, "fill": "mean"})
    second = Caption("filters", "net & co", "untrained", "ba9876543210", "", {"layer": "conv1"}, partial=True)
    return [report.ReportItem.of("Occlusion", png_bytes(40, 30, 10), first),
            report.ReportItem("Filters <b>", png_bytes(20, 50, 200), second, "Edited <script>alert(1)</script> & more")]


def test_html_embeds_each_figure_with_caption_parameters_and_environment(tmp_path):
    environment = report.environment_info("cpu")
    path = report.write_html(items(), tmp_path / "sub" / "report", environment)
    assert path == tmp_path / "sub" / "report.html"
    text = path.read_text(encoding="utf-8")
    parsed = parse(text)
    assert len(parsed.images) == 2
    for image, item in zip(parsed.images, items()):
        source = image["src"]
        assert source.startswith("data:image/png;base64,")
        decoded = base64.b64decode(source.split(",", 1)[1])
        assert decoded == item.png
        with Image.open(io.BytesIO(decoded)) as opened:
            assert opened.size == report.png_size(item.png)
    assert report.png_size(items()[1].png) == (20, 50)
    all_text = "".join(parsed.text)
    assert "cat <1>.png" in parsed.cells and "features.3" in parsed.cells and "8" in parsed.cells
    assert "net & co" in parsed.cells and "yes" in parsed.cells
    assert all(line in all_text for line in items()[0].caption.lines())
    assert "<br>".join(html.escape(line) for line in items()[0].caption.lines()) in text
    assert "Edited <script>alert(1)</script> & more" in all_text
    assert "<script>" not in text and "Filters <b>" not in text and "Figure 2. Filters <b>" in all_text
    for name, value in environment.items():
        assert name in parsed.cells and value in parsed.cells
    assert text.count("<img") == 2 and "http" not in text


def test_environment_names_versions_and_device():
    info = report.environment_info("cuda:0")
    assert list(info) == ["cnnviz", "torch", "torchvision", "Python", "platform", "device"]
    assert info["cnnviz"] == cnnviz.__version__ and info["torch"] == str(torch.__version__)
    assert info["device"] == "cuda:0" and info["Python"].count(".") == 2


def test_sources_widths_and_page_breaks_for_printing():
    text = report.report_html(items(), {"device": "cpu"}, sources=["img-0", "img-1"], widths=[600, None],
                              page_breaks=True)
    parsed = parse(text)
    assert [image["src"] for image in parsed.images] == ["img-0", "img-1"]
    assert parsed.images[0]["width"] == "600" and "width" not in parsed.images[1]
    assert text.count("page-break-before: always") == 1
    with pytest.raises(ValueError):
        report.report_html(items(), {}, sources=["one"])


def test_png_size_rejects_other_data():
    with pytest.raises(ValueError):
        report.png_size(b"GIF89a" + bytes(30))
