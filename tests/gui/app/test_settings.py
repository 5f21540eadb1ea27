"""Remembering the model, image, geometry and docks between runs, and a quiet start-up fallback."""

from PIL import Image

from cnnviz.gui.app import settings
from cnnviz.gui.app.startup import restore_session
from cnnviz.gui.runtime.model_spec import ModelSpec, spec_from_text


def test_settings_live_in_the_test_folder(settings_dir):
    store = settings.open_settings()
    store.setValue("probe", 1)
    store.sync()
    assert str(settings_dir) in store.fileName()


def test_model_and_image_are_saved_and_restored(make_window, qtbot, tmp_path, settle):
    image_path = tmp_path / "red.png"
    Image.new("RGB", (50, 40), (220, 20, 20)).save(image_path)
    first = make_window(remember=True)
    first.model_loader.load(spec_from_text("alexnet", pretrained=False))
    first.controller.open_image(image_path)
    qtbot.waitUntil(lambda: first.state.model is not None and first.state.image is not None,
                    timeout=60_000)
    settle(first)
    first.docks["predictions"].hide()
    first.close()
    assert settings.load_model_spec() == ModelSpec("zoo", "alexnet", pretrained=False)
    assert settings.load_image_path() == image_path

    second = make_window(remember=True)
    assert not second.docks["predictions"].isVisibleTo(second)
    restore_session(second.controller)
    settle(second)
    assert second.state.model.name == "alexnet" and not second.state.model.pretrained
    assert second.state.image_path == image_path
    second.resize(1700, 1000)  # wide enough for the side docks
    second.reset_layout()
    assert second.docks["predictions"].isVisibleTo(second)
    second.resize(1280, 800)
    second.reset_layout()  # a narrow window leaves the figures the width
    assert not second.docks["predictions"].isVisibleTo(second)


def test_a_remembered_model_that_cannot_load_falls_back_without_a_dialog(make_window, qtbot, settle,
                                                                           tmp_path):
    settings.save_model_spec(ModelSpec("zoo", "resnet18", pretrained=True))
    settings.save_image_path(tmp_path / "deleted.png")
    window = make_window(remember=True)
    restore_session(window.controller)
    settle(window)
    assert window.state.model.source == "default"
    assert window.model_loader.question is None
    assert "resnet18" in window.statusBar().currentMessage()
    assert "not cached" in window.statusBar().currentMessage()


def test_a_remembered_file_that_fails_falls_back_to_the_default(make_window, qtbot, settle, tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a torch file")
    settings.save_model_spec(ModelSpec("file", str(broken)))
    window = make_window(remember=True)
    restore_session(window.controller)
    settle(window)
    assert window.state.model.source == "default"
    assert "broken.pth" in window.statusBar().currentMessage()
