"""Keeping the Report dock's figures: the autosave in the data folder (written on every change, atomically,
restored at the next start, a damaged one ignored) and the question before quitting with an unsaved report."""

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from cnnviz.core.files.caption import Caption
from cnnviz.core.files.report import ReportItem
from cnnviz.core.files.session_file import read_session
from cnnviz.gui.app import report_autosave
from cnnviz.gui.app.quit_guard import CANCEL, QUIT_ANYWAY, SAVE_SESSION
from cnnviz.gui.app.report_autosave import autosave_path, read_report, write_report
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.dialogs import ChoiceDialog


def png_of(value: int, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def figures(count: int) -> list[ReportItem]:
    return [ReportItem.of(f"Figure {index}", png_of(40 * index),
                          Caption("filters", "net", fields={"layer": f"c{index}", "k": 3})) for index in range(count)]


def fill(window, count: int) -> list[ReportItem]:
    report = window.panes["report"]
    made = figures(count)
    for item in made:
        report.add(item)
    return made


def ask_to_close(window, qtbot) -> ChoiceDialog:
    """Close ``window`` and return the question it asks instead."""
    window.close()
    qtbot.waitUntil(lambda: window.quit_guard.question is not None and window.quit_guard.question.isVisible())
    assert window.isVisible()
    return window.quit_guard.question


def answer(window, qtbot, dialog: ChoiceDialog, text: str) -> None:
    dialog.button(text).click()
    qtbot.waitUntil(lambda: window.quit_guard.question is None)


def test_the_autosave_follows_every_change_and_comes_back_in_the_next_window(make_window, tmp_path, data_home):
    path = autosave_path()
    assert data_home in path.parents and not path.exists()
    window = make_window(remember=True)
    report = window.panes["report"]
    made = fill(window, 3)
    assert read_report(path) == (made, False)
    report.set_text(1, "edited <text>")
    report.move_figure(0, 2)
    edited = dataclasses.replace(made[1], text="edited <text>")
    assert read_report(path) == ([edited, made[2], made[0]], False)
    report.remove(1)
    assert read_report(path) == ([edited, made[0]], False)
    assert not list(path.parent.glob("*.part"))  # the temporary file was renamed over it
    assert window.sessions.save(tmp_path / "s.cnnviz") is not None
    assert report.is_saved and read_report(path) == ([edited, made[0]], True)
    window.close()
    assert not window.isVisible()  # saved: no question

    second = make_window(remember=True)
    again = second.panes["report"]
    assert again.items() == [edited, made[0]] and again.is_saved
    assert second.statusBar().currentMessage() == "Restored 2 report figures from the last run."


@pytest.mark.parametrize("damage", ["not a zip", "bad json", "bad png", "missing png", "wrong format"])
def test_a_damaged_autosave_is_ignored_with_a_message(make_window, damage):
    path = autosave_path()
    write_report(path, figures(2), False)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["report.json"])
    if damage == "bad json":
        members["report.json"] = b"{not json"
    elif damage == "bad png":
        members["figures/02.png"] = members["figures/02.png"][:60]
    elif damage == "missing png":
        del members["figures/01.png"]
    elif damage == "wrong format":
        members["report.json"] = json.dumps(document | {"format": "something else"}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    if damage == "not a zip":
        path.write_bytes(b"PK\x03\x04 but nothing more")
    with pytest.raises(ValueError):
        read_report(path)
    window = make_window(remember=True)
    assert window.panes["report"].items() == []
    message = window.statusBar().currentMessage()
    assert message.startswith(f"The autosaved report {path} could not be read and was ignored")
    window.close()
    assert not window.isVisible()


def test_quitting_with_an_unsaved_report_asks_and_cancel_keeps_the_window(make_window, qtbot):
    window = make_window(remember=True)
    fill(window, 2)
    dialog = ask_to_close(window, qtbot)
    assert dialog.windowModality() == Qt.WindowModality.WindowModal and dialog.parent() is window
    assert "2 figures" in dialog.message.text()
    assert all(dialog.button(text) is not None for text in (SAVE_SESSION, QUIT_ANYWAY, CANCEL))
    window.close()  # a second close raises the same question
    assert window.quit_guard.question is dialog
    answer(window, qtbot, dialog, CANCEL)
    qtbot.wait(50)
    assert window.isVisible() and len(window.panes["report"].items()) == 2
    answer(window, qtbot, ask_to_close(window, qtbot), QUIT_ANYWAY)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert read_report(autosave_path()) == (figures(2), False)  # quitting anyway keeps the autosave


def test_save_session_from_the_question_saves_then_quits(make_window, qtbot, monkeypatch, tmp_path):
    write_report(autosave_path(), figures(2), False)
    window = make_window(remember=True)
    assert not window.panes["report"].is_saved  # restored unsaved, as it was left
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: ("", ""))
    answer(window, qtbot, ask_to_close(window, qtbot), SAVE_SESSION)
    qtbot.wait(50)
    assert window.isVisible() and "not saved" in window.statusBar().currentMessage()
    target = tmp_path / "kept.cnnviz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    answer(window, qtbot, ask_to_close(window, qtbot), SAVE_SESSION)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert read_session(target).report == tuple(figures(2))
    assert read_report(autosave_path()) == (figures(2), True)


def test_an_export_saves_the_report_and_remembers_its_folder(make_window, qtbot, monkeypatch, tmp_path):
    window = make_window(remember=True)
    report = window.panes["report"]
    fill(window, 1)
    assert not report.is_saved
    target = tmp_path / "out" / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    assert report.export_report() == [target, target.with_suffix(".pdf")]
    assert report.is_saved and settings_store.export_folder() == tmp_path / "out"
    report.set_text(0, "changed after the export")
    assert not report.is_saved
    report.remove(0)
    assert report.is_saved  # nothing left to lose
    window.close()
    assert not window.isVisible()


def test_a_window_that_does_not_remember_neither_autosaves_nor_asks(make_window):
    window = make_window()
    fill(window, 2)
    assert not window.panes["report"].is_saved
    window.close()
    assert not window.isVisible() and window.quit_guard.question is None
    assert not autosave_path().exists()


def test_a_failed_autosave_is_a_status_message(make_window, monkeypatch):
    window = make_window(remember=True)
    blocker = autosave_path().parent
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the folder should be")
    fill(window, 1)
    assert window.statusBar().currentMessage().startswith("Could not autosave the report")
    window.panes["report"].mark_saved()
    window.close()
    assert not window.isVisible()


def test_the_autosave_format_round_trips_without_pickle(tmp_path):
    path = write_report(tmp_path / "deep" / "a.zip", figures(2), True)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["figures/01.png", "figures/02.png", "report.json"]
        document = json.loads(archive.read("report.json"))
    assert document["format"] == report_autosave.FORMAT and document["saved"] is True
    assert [entry["caption"]["fields"]["layer"] for entry in document["figures"]] == ["c0", "c1"]
    assert read_report(path) == (figures(2), True)
    assert read_report(write_report(path, [], False)) == ([], False)
    assert not [p for p in Path(tmp_path / "deep").iterdir() if p.name != "a.zip"]
