"""Export figure on every tool pane: the PNG has the requested width and DPI whatever the window's size,
the SVG is XML with an <svg> root and the caption in its text, the PDF has one page sized to the
figure, and the CSV files carry the caption fields (partial flag included) as comments."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from qimage_pixels import qimage_pixels

from cnnviz.core.data import datasets
from cnnviz.gui.widgets import figure_render
from cnnviz.gui.widgets.figure_render import LAYOUT_WIDTH, ExportOptions, figure_parts, render_image

TIMEOUT_MS = 60_000
FORMATS = ["png", "svg", "pdf", "npy", "csv"]
MM_TO_PT = 72 / 25.4


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """12 seeded grey 28×28 PNGs in 2 class folders."""
    pixels = np.random.default_rng(0).integers(0, 256, (12, 28, 28), dtype=np.uint8)
    for i, image in enumerate(pixels):
        folder = tmp_path / "images" / ("a", "b")[i % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
    return tmp_path / "images"


def run_to_end(pane, qtbot) -> None:
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.settled, timeout=TIMEOUT_MS)
    assert pane.outcome == "done"


def prepare(key: str, window, show_pane, qtbot, folder: Path):
    """Bring pane ``key`` to the front with a (small, fast) result to export."""
    if key == "attribution":
        window.panes[key].compare.set_checked(["gradient"])
        window.panes[key].metrics_form.widget("curves").setChecked(False)
    if key == "features":
        window.state.set_dataset(datasets.open_folder(folder))
    pane = show_pane(window, key)
    if key == "occlusion":
        pane.form.set_values({"window": 14, "stride": 14})
        run_to_end(pane, qtbot)
    elif key == "invariance":
        pane.ranges.set_values(0, 90, 45)
        run_to_end(pane, qtbot)
    elif key == "dream":
        pane.form.widget("octaves").setValue(1)
        pane.form.widget("iterations").setValue(3)
        run_to_end(pane, qtbot)
    elif key == "dataset":
        pane.loader_workers, pane.batch_size = 0, 8
        pane.open_folder(folder)
        qtbot.waitUntil(lambda: pane.dataset is not None and bool(pane.checklist.layers()) and pane.settled,
                        timeout=TIMEOUT_MS)
        run_to_end(pane, qtbot)
    elif key == "features":
        pane.iterations = (50, 50)
        run_to_end(pane, qtbot)
    elif key == "attribution":
        qtbot.waitUntil(lambda: pane.settled and not pane.running and pane.view.scene.maps
                        and all(m is not None for m in pane.view.scene.maps), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: pane.settled and window.controller.settled, timeout=TIMEOUT_MS)
    return pane


def svg_texts(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    return "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))


def pdf_pages(path: Path) -> tuple[int, list[float]]:
    """(number of page objects, the first MediaBox [x0, y0, x1, y1] in points)."""
    data = path.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    box = re.search(rb"/MediaBox\s*\[([^\]]*)\]", data)
    return pages, [float(v) for v in box.group(1).split()]


@pytest.mark.parametrize("key", ["filters", "activations", "deconvnet", "dream", "occlusion", "attribution",
                                 "invariance", "dataset", "features"])
def test_every_panes_figure_exports_at_the_size_asked_with_its_caption(
        loaded_window, show_pane, qtbot, tmp_path, image_folder, key):
    pane = prepare(key, loaded_window, show_pane, qtbot, image_folder)
    caption = pane.caption()
    assert caption.model and caption.checksum and caption.fields and not caption.partial
    written = pane.export.write(tmp_path / "out" / "fig", FORMATS)
    names = {p.name for p in written}
    assert {"fig.png", "fig.svg", "fig.pdf"} <= names

    with Image.open(tmp_path / "out" / "fig.png") as image:
        size = image.size
        assert size[0] == 2008 and image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
        assert np.asarray(image.convert("L"), dtype=np.float32).std() > 5
    loaded_window.resize(loaded_window.width() + 400, loaded_window.height() + 150)
    qtbot.waitUntil(lambda: pane.settled and loaded_window.controller.settled, timeout=TIMEOUT_MS)
    shown_before = pane.figure.size()
    again = pane.export.write(tmp_path / "resized", ["png"], ExportOptions())
    with Image.open(again[0]) as image:
        assert image.size == size
    assert pane.figure.size() == shown_before  # given back its size in the window

    text = svg_texts(tmp_path / "out" / "fig.svg")
    if key in ("filters", "occlusion", "dream"):  # maps and images stay raster inside the vector file
        assert any(e.tag.endswith("image") for e in ET.parse(tmp_path / "out" / "fig.svg").getroot().iter())
    assert caption.model in text and f"cnnviz {caption.version}" in text
    if key in ("dataset", "features"):  # figures about the dataset, not the current image
        assert caption.dataset == image_folder.name and not caption.image
        assert f"dataset {image_folder.name}" in text and "dataset" not in caption.fields
    else:
        assert caption.image == loaded_window.state.image_name and not caption.dataset
        assert f"image {caption.image}" in text
    first_field = next(iter(caption.fields))
    assert f"{first_field}=" in text
    if "layer" in caption.fields:
        assert f"layer={caption.fields['layer']}" in text

    pages, box = pdf_pages(tmp_path / "out" / "fig.pdf")
    assert pages == 1 and box[2] - box[0] == pytest.approx(170 * MM_TO_PT, abs=1.0)
    assert (box[3] - box[1]) / (box[2] - box[0]) == pytest.approx(size[1] / size[0], rel=0.02)

    tables = [p for p in written if p.suffix == ".csv"]
    assert tables, f"{key} wrote no CSV"
    for table in tables:
        comments = [line for line in table.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        assert comments == caption.comment_lines(), table.name
        assert "# partial: no" in comments and f"# model: {caption.model}" in comments
    for name, array in pane.export.data().items():
        np.testing.assert_array_equal(np.load(tmp_path / "out" / f"fig-{name}.npy"), array)


def test_a_cancelled_run_is_captioned_partial(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_pane(loaded_window, "occlusion")
    pane.form.set_values({"window": 2, "stride": 1, "batch_size": 1})
    pane.run()
    qtbot.waitUntil(lambda: pane.result is not None and pane.result.maps.done > 0, timeout=TIMEOUT_MS)
    pane.cancel()
    qtbot.waitUntil(lambda: not pane.running, timeout=TIMEOUT_MS)
    assert pane.outcome == "cancelled" and pane.figure_partial()
    caption = pane.caption()
    assert caption.partial and caption.fields["window_px"] == 2 and caption.fields["stride_px"] == 1
    written = pane.export.write(tmp_path / "cut", ["csv"])
    lines = written[0].read_text(encoding="utf-8").splitlines()
    assert "# partial: yes" in lines and "# window_px: 2" in lines
    assert any("PARTIAL" in line for line in caption.lines())




def test_the_dream_export_shows_the_dreamed_image_beside_its_curves(loaded_window, show_pane, qtbot):
    pane = prepare("dream", loaded_window, show_pane, qtbot, Path())
    parts = figure_parts(pane.figure)
    assert [part.widget for part in parts] == [pane.view, pane.figure]
    assert parts[0].rect.right() < parts[1].rect.left() and parts[0].rect.height() == parts[1].rect.height()
    pixels = qimage_pixels(render_image(pane.figure, ExportOptions(width_px=LAYOUT_WIDTH, caption=False)))
    left, right = pixels[:, : parts[0].rect.width()], pixels[:, parts[1].rect.left():]
    assert left.std() > 5 and right.std() > 5  # the dreamed image and the curves
    dreamed = pane.view.canvas.image_item.image
    assert dreamed is not None and dreamed.shape[:2] == pane.analysis_result().image.shape[:2]


def test_the_selection_box_and_hover_hint_of_the_filters_pane_are_left_out(loaded_window, show_pane):
    pane = show_pane(loaded_window, "filters")
    outline, hint = pane.view.atlas.outline, pane.view.filter_panel.detail
    assert outline.isVisible() and hint.text() == "hover for weights"
    options = ExportOptions(width_px=LAYOUT_WIDTH, caption=False)
    exported = qimage_pixels(render_image(pane.figure, options))
    assert outline.isVisible() and hint.text() == "hover for weights"  # shown again
    outline.hide()
    hint.setText("")
    np.testing.assert_array_equal(exported, qimage_pixels(render_image(pane.figure, options)))
    outline.show()
    hint.setText("hover for weights")
    setattr(outline, figure_render.TRANSIENT, False)  # an unmarked box would be drawn
    assert not np.array_equal(exported, qimage_pixels(render_image(pane.figure, options)))


def test_the_dream_caption_names_the_settings_each_plotted_run_used(loaded_window, show_pane, qtbot):
    pane = prepare("dream", loaded_window, show_pane, qtbot, Path())
    fields = pane.caption_fields()
    runs = [run.label(with_target=True) for run in pane.plots.runs]
    assert runs and [fields[f"run{i}"] for i in range(1, len(runs) + 1)] == runs
    assert pane.layer in fields["run1"] and fields["iterations"] == pane.form.widget("iterations").value()
