"""Loading models and images through the panes, and the predictions and target class they give."""

from PIL import Image
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMessageBox

from cnnviz.core.data import images
from cnnviz.gui.app.startup import restore_session
from cnnviz.gui.panes.image import open_mime_data
from cnnviz.gui.widgets.labels import UNTRAINED


def fashion_samples() -> list[images.Sample]:
    return [s for s in images.samples() if s.kind == "fashion-mnist"]


def test_start_up_without_settings_shows_the_bundled_model_and_default_sample(window, settle):
    restore_session(window.controller)
    settle(window)
    state = window.state
    assert state.model.source == "default" and state.model.pretrained
    assert state.image_path == images.default_sample().path
    assert window.windowTitle() == f"cnnviz — {state.model.name}"
    assert state.model.name in window.model_status.text()
    assert "28×28, grayscale" in window.input_status.text()
    assert "ms" in window.forward_status.text()
    assert window.panes["image"].thumbnail.canvas.has_image()
    assert "28×28, grayscale" in window.panes["image"].input_label.text()
    assert window.panes["input"].original.canvas.has_image()
    assert "28×28, grayscale" in window.panes["input"].seen.detail.text()


def test_choosing_each_fashion_sample_in_the_pane_predicts_its_label(loaded_window, qtbot, settle):
    pane = loaded_window.panes["image"]
    predictions = loaded_window.panes["predictions"]
    samples = fashion_samples()
    assert len(samples) >= 5
    for sample in samples:
        pane.choose_sample(sample.title)
        qtbot.waitUntil(lambda path=sample.path: loaded_window.state.image_path == path, timeout=10_000)
        settle(loaded_window)
        top_index, top_name, _top_probability = loaded_window.state.predictions.top[0]
        assert top_name == sample.label, sample.title
        assert predictions.table.item(0, 0).text() == sample.label
        assert loaded_window.state.target == top_index
        assert f"target: <b>{sample.label}</b>" in predictions.target_label.text()
        assert sum(p for _, _, p in loaded_window.state.predictions.top) <= 1.0 + 1e-6


def test_clicking_a_prediction_row_sets_the_target_class(loaded_window, qtbot):
    pane = loaded_window.panes["predictions"]
    third = pane.table.item(2, 0)
    expected = loaded_window.state.predictions.top[2][0]
    rect = pane.table.visualItemRect(third)
    with qtbot.waitSignal(loaded_window.state.target_changed, timeout=2000) as blocker:
        qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [expected]
    assert loaded_window.state.target == expected
    assert pane.table.selectionModel().isRowSelected(2)
    assert pane.table.item(2, 0).font().bold()
    assert third.text() in pane.target_label.text()


def test_target_search_picks_any_class_and_survives_a_new_image(loaded_window, qtbot, settle):
    pane = loaded_window.panes["predictions"]
    assert pane.search.count() == len(loaded_window.state.model.categories)
    index = pane.search.findText("Bag")
    pane.search.setCurrentIndex(index)
    pane.search.activated.emit(index)
    bag = loaded_window.state.model.categories.index("Bag")
    assert loaded_window.state.target == bag
    sneaker = images.sample("fmnist_sneaker")
    loaded_window.controller.open_sample(sneaker)
    qtbot.waitUntil(lambda: loaded_window.state.image_path == sneaker.path, timeout=10_000)
    settle(loaded_window)
    assert loaded_window.state.target == bag
    pane.follow_button.click()
    assert loaded_window.state.target == loaded_window.state.predictions.top[0][0]


def test_a_bad_image_shows_an_error_and_keeps_the_previous_state(loaded_window, qtbot, tmp_path,
                                                                   monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    before = (loaded_window.state.image, loaded_window.state.predictions, loaded_window.state.model)
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    loaded_window.controller.open_image(bad)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    title, text = shown[0]
    assert "image" in title.lower()
    assert "notes.png" in text and "not an image" in text
    qtbot.waitUntil(lambda: not loaded_window.controller.busy, timeout=10_000)
    assert (loaded_window.state.image, loaded_window.state.predictions, loaded_window.state.model) == before


def test_pasting_an_image_from_the_clipboard(loaded_window, qtbot, settle):
    picture = QImage(64, 48, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(picture)
    loaded_window.menu_actions["paste_image"].trigger()
    qtbot.waitUntil(lambda: loaded_window.state.image_name == "pasted image", timeout=10_000)
    settle(loaded_window)
    assert loaded_window.state.image.size == (64, 48)
    assert loaded_window.state.image_path is None


def test_dropping_a_file_opens_it(loaded_window, qtbot, tmp_path, settle):
    path = tmp_path / "dropped.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert open_mime_data(loaded_window.controller, mime, "dropped image") is not None
    qtbot.waitUntil(lambda: loaded_window.state.image_path == path, timeout=10_000)
    settle(loaded_window)
    assert loaded_window.state.image.size == (40, 30)
    assert open_mime_data(loaded_window.controller, QMimeData(), "nothing") is None


def test_untrained_zoo_model_from_the_pane_is_labelled_everywhere(loaded_window, qtbot, settle):
    pane = loaded_window.panes["model"]
    assert pane.model_combo.itemText(pane.model_combo.findData("alexnet")) == "AlexNet · 233 MB download"
    pane.select("alexnet")
    assert pane.pretrained.isEnabled()
    pane.pretrained.setChecked(False)
    pane.load_button.click()
    qtbot.waitUntil(lambda: loaded_window.state.model.name == "alexnet", timeout=60_000)
    settle(loaded_window)
    assert not loaded_window.state.model.pretrained
    assert UNTRAINED in loaded_window.windowTitle()
    assert "alexnet" in loaded_window.windowTitle()
    assert UNTRAINED in loaded_window.model_status.text()
    assert not pane.untrained_badge.isHidden() and pane.cached_badge.isHidden()  # in the Model dock, hidden at 1400 px
    assert loaded_window.context_summary.untrained_label.isVisible()  # the tool column says so in view
    assert UNTRAINED in loaded_window.panes["predictions"].model_label.text()
    assert "224×224 RGB" in loaded_window.input_status.text()
    assert loaded_window.state.seen_image.size == (224, 224)
    assert loaded_window.state.input_tensor.shape == (1, 3, 224, 224)
