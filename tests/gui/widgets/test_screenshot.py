"""Screenshots of the window and of single panes, headless and through the Export dialog."""

import numpy as np
from PIL import Image

from cnnviz.gui.widgets.screenshot import save_png

MIN_STD = 10.0


def png_stats(path) -> tuple[tuple[int, int], float]:
    with Image.open(path) as image:
        return image.size, float(np.asarray(image.convert("RGB"), dtype=np.float32).std())


def test_window_screenshot_is_a_non_blank_png(loaded_window, tmp_path):
    path = save_png(loaded_window.capture_target("window"), tmp_path / "window.png")
    size, std = png_stats(path)
    ratio = loaded_window.devicePixelRatio()
    assert size == (round(loaded_window.width() * ratio), round(loaded_window.height() * ratio))
    assert std > MIN_STD


def test_every_pane_can_be_captured(loaded_window, tmp_path):
    for key in loaded_window.panes:
        target = loaded_window.capture_target(key)
        size, std = png_stats(save_png(target, tmp_path / f"{key}.png"))
        assert size[0] > 100 and size[1] > 100, key
        assert std > MIN_STD, key
    last_tab = [key for key in loaded_window.panes if key not in loaded_window.docks][-1]
    assert loaded_window.tabs.currentWidget() is loaded_window.panes[last_tab]


def test_export_dialog_saves_the_chosen_pane(loaded_window, qtbot, tmp_path):
    loaded_window.bring_to_front("predictions")  # hidden at the start in a window narrower than 1600 px
    dialog = loaded_window.export_screenshot()
    assert dialog.isVisible()
    titles = [dialog.target.itemText(i) for i in range(dialog.target.count())]
    assert titles[0] == "Whole window" and "Current tab: Input" in titles
    assert "Architecture pane" in titles
    dialog.target.setCurrentIndex(dialog.target.findData("predictions"))
    dialog.file.setText(str(tmp_path / "predictions"))
    dialog.accept()
    path = tmp_path / "predictions.png"
    assert path.is_file()
    size, std = png_stats(path)
    dock = loaded_window.docks["predictions"]
    assert size == (round(dock.width() * dock.devicePixelRatio()), round(dock.height() * dock.devicePixelRatio()))
    assert std > MIN_STD
    assert str(path) in loaded_window.statusBar().currentMessage()
