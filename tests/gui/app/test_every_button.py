"""Every push button of every pane can be clicked: no exception reaches Qt, and every file dialog a
click opens leads to the file being written.

A button connected straight to a method with an optional first parameter gets ``clicked(checked)``
as that argument (Invariance's *Export CSV…* once took ``False`` as its path); the file dialogs are
answered with paths in a temporary folder, folder and open dialogs are cancelled; the Export figure
dialog asks for its file with *Browse…*.
"""

from pathlib import Path

import pytest
from export_answers import answer_export_by_browsing
from PySide6.QtWidgets import QFileDialog, QPushButton

from cnnviz.gui.app.registry import all_panes
from cnnviz.gui.panes.run_pane import RunPane

NETWORK_BUTTONS = ("Fashion-MNIST test",)
"""Buttons left unclicked: they download a dataset."""


@pytest.fixture
def saved(monkeypatch, tmp_path) -> list[Path]:
    """The paths the save dialogs answered (in ``tmp_path``); open and folder dialogs are cancelled."""
    answers: list[Path] = []

    def save_name(_parent, _caption, suggested, *_args, **_kwargs):
        answers.append(tmp_path / f"{len(answers)}-{Path(suggested).name}")
        return str(answers[-1]), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args, **_kwargs: ("", ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args, **_kwargs: "")
    answer_export_by_browsing(monkeypatch)
    return answers


def written_for(answer: Path) -> list[Path]:
    """Files written for a save dialog's ``answer``: the file itself or files beside it named after it."""
    return [path for path in answer.parent.iterdir() if path.name.startswith(answer.stem)]


def test_every_button_of_every_pane_clicks_without_an_error(loaded_window, qtbot, saved):
    clicked: list[str] = []

    def settle() -> None:
        qtbot.waitUntil(lambda: loaded_window.controller.settled and getattr(pane, "settled", True), timeout=60_000)

    for pane_info in all_panes():
        pane = loaded_window.panes[pane_info.key]
        loaded_window.capture_target(pane_info.key)
        settle()
        if isinstance(pane, RunPane) and pane.run_button.isEnabled():
            pane.run_button.click()
            qtbot.waitUntil(lambda pane=pane: not pane.running, timeout=60_000)
        # buttons that ask for a file first, before Clear and the like leave nothing to save
        for button in sorted(pane.findChildren(QPushButton), key=lambda b: not b.text().endswith("…")):
            if not (button.isVisible() and button.isEnabled()) or button.text() in NETWORK_BUTTONS:
                continue
            asked = len(saved)
            button.click()
            clicked.append(f"{pane_info.key}: {button.text()}")
            settle()
            for answer in saved[asked:]:
                assert written_for(answer), f"{clicked[-1]} wrote nothing for {answer.name}"
    assert "invariance: Export CSV…" in clicked and "occlusion: Export data…" in clicked
    assert any(answer.suffix == ".csv" for answer in saved)
