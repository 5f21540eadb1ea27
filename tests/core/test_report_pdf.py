"""The report's PDF drawn by matplotlib: one page per figure plus the environment, long parameter tables
continued without a lone row, page titles from what each analysis used."""

import io
import re

import numpy as np
from PIL import Image

from cnnviz.core.files import report, report_pdf
from cnnviz.core.files.caption import Caption


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 120, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def test_one_page_per_figure_and_one_for_the_environment(tmp_path):
    caption = Caption("occlusion", "net", "bundled", "abc", "bag.png", {"layer": "features.relu3", "window": 8})
    items = [report.ReportItem.of("", png_bytes(400, 300), caption), report.ReportItem.of("Mine", png_bytes(80, 400),
                                                                                           caption)]
    path = report_pdf.write_pdf(items, tmp_path / "report", report.environment_info("cpu"))
    assert path.suffix == ".pdf" and path.read_bytes().startswith(b"%PDF")
    assert pages(path) == 3


def test_a_long_parameter_table_continues_without_a_lone_row(tmp_path):
    fields = {f"parameter{i}": i for i in range(report_pdf.TABLE_ROWS_PER_PAGE + 30)}
    item = report.ReportItem.of("", png_bytes(400, 300), Caption("attribution", fields=fields))
    figure_pages = report_pdf.item_pages(item, 1)
    assert len(figure_pages) >= 2
    rows = [len(page.axes[-1].tables[0].get_celld()) // 2 - 1 for page in figure_pages if page.axes[-1].tables]
    assert sum(rows) == len(item.caption.items()) and min(rows) >= 5


def test_page_titles_name_what_the_analysis_used():
    invariance = Caption("invariance", fields={"layers": ["features.relu2", "classifier.relu4"], "kind": "scale"})
    assert report_pdf.item_title(report.ReportItem.of("", b"", invariance)) == (
        "invariance — features.relu2, classifier.relu4")
    assert report_pdf.item_title(report.ReportItem.of("", b"", Caption("occlusion", fields={"layer": "conv5"}))) == (
        "occlusion — conv5")
    assert report_pdf.item_title(report.ReportItem.of("Given", b"", invariance)) == "Given"
