"""Hostile image files opened from the GUI end in the image error dialog, never a hang or a raw error."""

import os

import pytest
from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QMessageBox

from cnnviz.gui.panes.image import named_file, open_mime_data


def make_loop(tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.symlink_to(second)
    second.symlink_to(first)
    return first, "symbolic link loop"


def make_fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path, "named pipe"


def make_long_name(tmp_path):
    return tmp_path / ("b" * 300 + ".png"), "name too long"


def make_thin(tmp_path):
    from PIL import Image

    path = tmp_path / "thin.png"
    Image.new("L", (2, 400), 9).save(path)
    return path, "more elongated than 20:1"


@pytest.mark.parametrize("make", [make_loop, make_fifo, make_long_name, make_thin])
def test_hostile_file_shows_the_image_error_dialog(loaded_window, qtbot, tmp_path, monkeypatch, make):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    before = loaded_window.state.image
    path, reason = make(tmp_path)
    loaded_window.controller.open_image(path)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    title, text = shown[0]
    assert title == "Could not open the image"
    assert str(path) in text and reason in text
    qtbot.waitUntil(lambda: not loaded_window.controller.busy, timeout=10_000)
    assert loaded_window.state.image is before


def test_pasted_text_naming_no_usable_file_is_not_an_image(loaded_window, tmp_path):
    assert named_file(str(tmp_path / ("c" * 300))) is None
    assert named_file("~no-such-user-here/x.png") is None
    assert named_file(str(tmp_path)) is None
    mime = QMimeData()
    mime.setText(str(tmp_path / ("c" * 300)))
    assert open_mime_data(loaded_window.controller, mime, "pasted") is None
