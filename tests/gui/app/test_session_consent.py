"""A session that names a Python model file asks before running it: no answer or *no* runs nothing and
restores the rest on the current model, *yes* runs it, and the same file (same checksum) opens without asking
the next time; a changed file asks again; a relative or ``..``-laden path is resolved against the session's
folder and shown resolved."""

from pathlib import Path

import pytest

from cnnviz.core.files.session_file import ModelSource, Session, write_session
from cnnviz.gui.app.session_consent import KEEP_MODEL, RUN_CODE
from cnnviz.gui.runtime import trusted_files
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.labels import format_bytes

MODEL_CODE = """
import pathlib
pathlib.Path({marker!r}).write_text("ran")
import torch.nn as nn

def build():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
"""


def marker_model(folder: Path, marker: Path, name: str = "net.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(MODEL_CODE.format(marker=str(marker)))
    return path


def session_naming(path: Path, model_name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_session(path, Session(model=ModelSource("file", model_name), tab="filters"))


@pytest.fixture
def consent_window(loaded_window):
    """The bundled model loaded, a restored session reported in ``restored``."""
    loaded_window.restored = []
    loaded_window.sessions.restored.connect(loaded_window.restored.append)
    return loaded_window


def test_no_answer_and_no_run_nothing_and_restore_the_rest(consent_window, qtbot, tmp_path):
    window = consent_window
    marker = tmp_path / "marker"
    model = marker_model(tmp_path / "shared", marker)
    session = session_naming(tmp_path / "shared" / "study.cnnviz", str(model))
    window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.question is not None and window.sessions.question.isVisible(),
                    timeout=10_000)
    question = window.sessions.question
    text = question.message.text()
    assert str(model.resolve()) in text and "runs the code" in text
    print_ = trusted_files.fingerprint(model)
    assert format_bytes(print_.size) in text and print_.sha256[:16] in text
    qtbot.wait(300)
    assert not marker.exists()  # nobody answered yet: nothing ran
    question.button(KEEP_MODEL).click()
    qtbot.waitUntil(lambda: bool(window.restored), timeout=30_000)
    assert not marker.exists()
    assert window.state.model.source == "default"
    assert window.tabs.currentWidget() is window.panes["filters"]  # the rest of the session is restored
    assert "net.py was not run" in window.statusBar().currentMessage()
    assert "was not run" in window.restored[0]["model"][""]


def test_yes_runs_it_and_the_same_file_opens_without_asking_again(consent_window, qtbot, tmp_path):
    window = consent_window
    marker = tmp_path / "marker"
    model = marker_model(tmp_path / "shared", marker)
    session = session_naming(tmp_path / "shared" / "study.cnnviz", str(model))
    window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.question is not None, timeout=10_000)
    window.sessions.question.button(RUN_CODE).click()
    qtbot.waitUntil(lambda: bool(window.restored), timeout=60_000)
    assert marker.read_text() == "ran" and window.state.model.path == model.resolve()
    assert trusted_files.is_trusted(trusted_files.fingerprint(model))

    marker.unlink()
    window.model_loader.load(ModelSpec())
    qtbot.waitUntil(lambda: window.state.model.source == "default", timeout=30_000)
    window.restored.clear()
    window.sessions.open(session)  # same contents: no question
    qtbot.waitUntil(lambda: bool(window.restored), timeout=60_000)
    assert window.sessions.question is None and marker.read_text() == "ran"

    model.write_text(model.read_text() + "\n# changed\n")  # another checksum asks again
    window.model_loader.load(ModelSpec())
    qtbot.waitUntil(lambda: window.state.model.source == "default", timeout=30_000)
    window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.question is not None, timeout=10_000)
    window.sessions.question.button(KEEP_MODEL).click()


def test_a_relative_path_with_dots_is_resolved_against_the_session_folder(consent_window, qtbot, tmp_path):
    window = consent_window
    marker = tmp_path / "marker"
    model = marker_model(tmp_path / "models", marker)
    session = session_naming(tmp_path / "sessions" / "deep" / "study.cnnviz", "../../models/./net.py")
    window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.question is not None, timeout=10_000)
    text = window.sessions.question.message.text()
    assert str(model.resolve()) in text and ".." not in text.split("<tt>")[1].split("</tt>")[0]
    window.sessions.question.button(KEEP_MODEL).click()
    qtbot.waitUntil(lambda: bool(window.restored), timeout=30_000)
    assert not marker.exists()


def test_opening_a_model_file_by_hand_trusts_it(consent_window, qtbot, tmp_path):
    window = consent_window
    marker = tmp_path / "marker"
    model = marker_model(tmp_path / "mine", marker)
    window.model_loader.load(ModelSpec("file", str(model)))
    qtbot.waitUntil(lambda: window.state.model.source == "file", timeout=60_000)
    assert trusted_files.is_trusted(trusted_files.fingerprint(model))


def test_a_checkpoint_trained_from_a_python_file_asks_to_run_that_file(consent_window, qtbot, tmp_path):
    from cnnviz.core.model import checkpoint_files, models

    window = consent_window
    marker = tmp_path / "marker"
    code = marker_model(tmp_path / "shared", marker)
    module = models.load(str(code)).module
    marker.unlink()
    folder = checkpoint_files.write(tmp_path / "shared" / "run" / "epoch-001",
                                    {"base": {"spec": str(code)}, "classes": ["a", "b", "c"], "head": ""},
                                    module.state_dict())
    assert models.code_to_run(folder / "checkpoint.json") == code.resolve()
    window.sessions.open(session_naming(tmp_path / "shared" / "study.cnnviz", str(folder)))
    qtbot.waitUntil(lambda: window.sessions.question is not None and window.sessions.question.isVisible(),
                    timeout=10_000)
    assert str(code.resolve()) in window.sessions.question.message.text()
    window.sessions.question.button(KEEP_MODEL).click()
    qtbot.waitUntil(lambda: bool(window.restored), timeout=30_000)
    assert not marker.exists() and window.state.model.source == "default"
