"""Loading a model for the user: download failure and cancel, untrusted files, unknown architectures."""

import threading
import time

import torch
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QMessageBox, QProgressDialog, QPushButton
from torch import nn

from cnnviz.core.model import models, zoo
from cnnviz.core.progress import Step
from cnnviz.gui.runtime.model_spec import spec_from_text
from cnnviz.gui.widgets.dialogs import LOAD_UNTRAINED, TRUST_FILE, ChoiceDialog
from cnnviz.gui.widgets.labels import UNTRAINED


def refuse_download(name, *, timeout=30.0):
    url = models.zoo_weights(name).url
    raise models.WeightsDownloadError(url, models.weights_path(name), "network error: no internet here")


def test_download_failure_offers_the_untrained_model(loaded_window, qtbot, monkeypatch, settle):
    monkeypatch.setattr(zoo, "download_weights", refuse_download)
    pane = loaded_window.panes["model"]
    pane.select("resnet18")
    assert pane.pretrained.isChecked()
    pane.load_button.click()
    loader = loaded_window.model_loader
    qtbot.waitUntil(lambda: isinstance(loader.question, ChoiceDialog) and loader.question.isVisible(),
                    timeout=30_000)
    dialog = loader.question
    message = dialog.message.text()
    assert "resnet18-" in message and ".pth" in message
    assert models.zoo_weights("resnet18").url in message
    assert str(models.weights_cache_dir()) in message
    assert loaded_window.state.model.source == "default"
    dialog.button("Copy URL").click()
    assert dialog.isVisible()
    assert QGuiApplication.clipboard().text() == models.zoo_weights("resnet18").url
    dialog.button("Copy folder path").click()
    assert dialog.isVisible()
    assert QGuiApplication.clipboard().text() == str(models.weights_cache_dir())
    dialog.button(LOAD_UNTRAINED).click()
    qtbot.waitUntil(lambda: loaded_window.state.model.name == "resnet18", timeout=60_000)
    settle(loaded_window)
    assert not loaded_window.state.model.pretrained
    assert UNTRAINED in loaded_window.windowTitle()
    assert loader.question is None


def test_cancelling_the_download_dialog_keeps_the_model(loaded_window, qtbot, monkeypatch):
    monkeypatch.setattr(zoo, "download_weights", refuse_download)
    previous = loaded_window.state.model
    with qtbot.waitSignal(loaded_window.model_loader.done, timeout=30_000) as blocker:
        loaded_window.model_loader.load(spec_from_text("alexnet"))
        qtbot.waitUntil(lambda: loaded_window.model_loader.question is not None, timeout=30_000)
        loaded_window.model_loader.question.button("Cancel").click()
    assert blocker.args == [False]
    assert loaded_window.state.model is previous


def test_cancelling_a_slow_download_keeps_the_previous_model(loaded_window, qtbot, monkeypatch):
    closed = threading.Event()

    def slow_download(name, *, timeout=30.0):
        total = 200 * 1_000_000
        try:
            for step in range(1, 201):
                time.sleep(0.02)
                yield Step(step * 1_000_000, total)
            return models.weights_path(name)
        finally:
            closed.set()

    monkeypatch.setattr(zoo, "download_weights", slow_download)
    loader = loaded_window.model_loader
    previous = loaded_window.state.model
    loader.load(spec_from_text("alexnet"))
    qtbot.waitUntil(lambda: isinstance(loader.progress_dialog, QProgressDialog)
                    and loader.progress_dialog.isVisible() and loader.progress_dialog.value() > 0,
                    timeout=10_000)
    assert "MB of 200.0 MB" in loader.progress_dialog.labelText()
    cancel = next(b for b in loader.progress_dialog.findChildren(QPushButton) if b.text() == "Cancel")
    with qtbot.waitSignal(loader.done, timeout=10_000) as blocker:
        cancel.click()
    assert blocker.args == [False]
    assert closed.is_set()
    assert loaded_window.state.model is previous
    assert loader.progress_dialog is None
    assert "cancelled" in loaded_window.statusBar().currentMessage()
    assert not list(models.weights_cache_dir().glob("*.pth"))


def test_untrusted_whole_model_file_needs_an_explicit_yes(loaded_window, qtbot, tmp_path, settle):
    path = tmp_path / "whole_model.pt"
    torch.save(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, 5)), path)
    loader = loaded_window.model_loader
    loader.load(spec_from_text(str(path)))
    qtbot.waitUntil(lambda: isinstance(loader.question, ChoiceDialog), timeout=30_000)
    text = loader.question.message.text()
    assert "whole_model.pt" in text and "runs" in text and "code" in text
    assert loaded_window.state.model.source == "default"
    loader.question.button(TRUST_FILE).click()
    qtbot.waitUntil(lambda: loaded_window.state.model.source == "file", timeout=30_000)
    settle(loaded_window)
    assert loaded_window.state.model.name == "whole_model"
    assert loaded_window.state.model_spec.trust
    assert len(loaded_window.state.predictions.probabilities) == 5


def test_unknown_state_dict_asks_for_the_architecture(loaded_window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    loader = loaded_window.model_loader
    loader.load(spec_from_text(str(path)))
    qtbot.waitUntil(lambda: isinstance(loader.question, QInputDialog), timeout=30_000)
    dialog = loader.question
    assert "mystery.pth" in dialog.labelText()
    dialog.setTextValue("squeezenet1_1")
    dialog.accept()
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    assert "does not fit squeezenet1_1" in shown[0]
    assert loaded_window.state.model.source == "default"


def test_a_missing_model_file_shows_an_error(loaded_window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    loaded_window.model_loader.load(spec_from_text(str(tmp_path / "gone.pth")))
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    assert "gone.pth" in shown[0][1]
    assert loaded_window.state.model.source == "default"


def exiting_file(tmp_path, code):
    path = tmp_path / "hostile.py"
    path.write_text(code + "\nimport torch.nn as nn\ndef build():\n    return nn.Conv2d(3, 2, 3)\n")
    return path


def test_a_file_that_exits_or_interrupts_ends_with_the_error_dialog(loaded_window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    loader = loaded_window.model_loader
    previous = loaded_window.state.model
    for code, said in (("import sys\nsys.exit(2)", "sys.exit(2)"), ("raise KeyboardInterrupt", "KeyboardInterrupt")):
        shown.clear()
        with qtbot.waitSignal(loader.done, timeout=30_000) as blocker:
            loader.load(spec_from_text(str(exiting_file(tmp_path, code))))
        assert blocker.args == [False]
        assert shown[0][0] == "Could not load the model"
        assert "Running hostile.py failed" in shown[0][1] and said in shown[0][1]
        assert loader.task is None and loaded_window.state.model is previous

