"""Sessions: save → open in a fresh window restores model, image, target, selection, tab and a changed
setting in every pane, the dataset, the scan layers, the Deconvnet unit and the report; a session whose model
file or dataset folder is gone opens and restores the rest; a format-1 session still opens and a hostile one is
refused; ``cnnviz --session``; File → Recent; and, without sessions, each pane's settings and the last tab are
remembered across windows."""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cnnviz import cli
from cnnviz.analyses import registry
from cnnviz.core import settings as analysis_settings
from cnnviz.core.data import images
from cnnviz.core.files import session_file
from cnnviz.core.files.session_file import FORMAT, JSON_NAME, read_session
from cnnviz.gui.app import settings
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.app.report_actions import add_to_report
from cnnviz.gui.panes.invariance.saved import curve_from_dict, curve_to_dict
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.model_spec import ModelSpec

CHANGES = {
    "filters": {"scale": "layer", "colormap": "magma"},
    "activations": {"order": "max", "opacity": 33},
    "deconvnet": {"method": "guided", "display": "abs"},
    "dream": {"iterations": 7, "step_size": 0.05, "octaves": 2},
    "occlusion": {"fill": "black", "window": 9, "stride": 3},
    "attribution": {"methods": ["gradient", "guided"], "smoothgrad_samples": 7, "opacity": 35,
                    "classes": [4, 3, 2, 1]},
    "invariance": {"kind": "scale", "start": 0.5, "stop": 1.5, "step": 0.25, "crop": True},
    "dataset": {"sort": "max", "per_page": 12},
    "features": {"pooling": "max", "perplexity": 12.0},
}
"""A changed setting (or several) of every tool pane."""

TINY_NET = """
import torch
from torch import nn


def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
"""


def open_and_wait(window: MainWindow, path, qtbot) -> dict:
    restored: list[dict] = []
    window.sessions.restored.connect(restored.append)
    assert window.sessions.open(path)
    qtbot.waitUntil(lambda: bool(restored) and window.controller.settled, timeout=120_000)
    return restored[0]


def changed_window(make_window, settle) -> MainWindow:
    """A window on the bundled model and the second sample, with a setting changed in every pane, a
    chosen target, layer and channel, and the Occlusion tab current."""
    window = make_window()
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.samples()[1])
    settle(window)
    for key, values in CHANGES.items():
        assert window.panes[key].apply_settings(values) == {}
    activations = window.panes["activations"]
    activations.layer_binding.choose_layer(activations.picker.choices[2].name)
    window.state.set_channel(2)
    window.controller.choose_target(3)
    window.bring_to_front("occlusion")
    return settle(window)


def test_a_session_restores_everything_in_a_fresh_window(make_window, settle, qtbot, tmp_path):
    first = changed_window(make_window, settle)
    path = first.sessions.save(tmp_path / "study")
    assert path == tmp_path / "study.cnnviz" and read_session(path).tab == "occlusion"
    second = make_window()
    assert open_and_wait(second, path, qtbot) == {}
    assert second.state.model_spec.source == "default" and second.state.model is not first.state.model
    np.testing.assert_array_equal(np.asarray(second.state.image), np.asarray(first.state.image))
    assert second.state.image_name == first.state.image_name
    assert second.state.target == 3 and not second.controller.follows_top_prediction
    assert (second.state.layer, second.state.channel) == (first.state.layer, 2)
    assert second.current_tab() == "occlusion"
    for key in CHANGES:
        assert second.panes[key].settings() == first.panes[key].settings(), key
    assert second.panes["occlusion"].form.value("window") == 9
    assert second.panes["dream"].form.widget("iterations").value() == 7
    assert second.panes["attribution"].compare.checked() == ["gradient", "guided"]
    assert second.panes["invariance"].kind == "scale" and second.panes["invariance"].form.value("crop")
    assert "Opened session study.cnnviz" in second.statusBar().currentMessage()


def test_invariance_curves_come_back_with_the_session(loaded_window, show_pane, make_window, qtbot, tmp_path):
    pane = show_pane(loaded_window, "invariance")
    pane.apply_settings({"kind": "rotation", "start": -20.0, "stop": 20.0, "step": 10.0})
    pane.run()
    qtbot.waitUntil(lambda: pane.settled and not pane.running and bool(pane.curves), timeout=60_000)
    path = loaded_window.sessions.save(tmp_path / "curves.cnnviz")
    second = make_window()
    open_and_wait(second, path, qtbot)
    again = second.panes["invariance"]
    assert len(again.curves) == 1 and again.export.button.isEnabled()
    saved, restored = pane.curves[0].result, again.curves[0].result
    np.testing.assert_array_equal(restored.values, saved.values)
    np.testing.assert_allclose(restored.prob, saved.prob)
    assert list(restored.distance) == list(saved.distance) == again.layers == pane.layers


def test_the_export_folder_is_remembered(make_window, tmp_path, monkeypatch):
    window = make_window()
    suggested = []

    def answer(_parent, _caption, start, *_args):
        suggested.append(start)
        return str(tmp_path / "exports" / "curves.csv"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    (tmp_path / "exports").mkdir()
    pane = window.panes["invariance"]
    pane.curves = [curve_from_dict(curve_to_dict(curve)) for curve in [fake_curve()]]
    assert pane.export_csv() == tmp_path / "exports" / "curves.csv"
    assert settings_store.export_folder() == tmp_path / "exports"
    pane.export_csv()
    assert Path(suggested[1]).parent == tmp_path / "exports" and Path(suggested[0]).parent != tmp_path / "exports"
    (tmp_path / "exports" / "curves.csv").unlink()
    (tmp_path / "exports").rmdir()
    assert settings_store.export_folder() != tmp_path / "exports"  # a folder that is gone is not offered


def fake_curve():
    from cnnviz.core.per_image.invariance import InvarianceResult
    from cnnviz.gui.panes.invariance.plots import Curve

    values = np.array([0.0, 1.0])
    result = InvarianceResult(kind="rotation", values=values, prob=np.array([0.5, np.nan]), top_class=np.array([1, -1]),
                              distance={}, relative_distance={}, target=1, done=1, total=2, classes=["a", "b"])
    return Curve("image", result, "#1f77b4")


def test_a_missing_model_file_gives_a_message_and_the_rest_is_restored(make_window, settle, qtbot, tmp_path,
                                                                      monkeypatch):
    model_file = tmp_path / "tiny.py"
    model_file.write_text(TINY_NET, encoding="utf-8")
    first = make_window()
    first.controller.load_model(ModelSpec("file", str(model_file)))
    first.controller.open_sample(images.samples()[2])
    settle(first)
    first.panes["occlusion"].apply_settings({"fill": "black", "seed": 7})
    first.bring_to_front("dream")
    path = first.sessions.save(tmp_path / "tiny.cnnviz")
    assert read_session(path).model.checksum == first.panes["occlusion"].caption().checksum
    model_file.unlink()

    second = make_window()
    second.controller.load_model(ModelSpec())
    second.controller.open_sample(images.default_sample())
    settle(second)
    model = second.state.model
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: messages.append((title, text)))
    problems = open_and_wait(second, path, qtbot)
    assert len(messages) == 1 and "no longer exists" in messages[0][1] and str(model_file) in messages[0][1]
    assert second.state.model is model
    np.testing.assert_array_equal(np.asarray(second.state.image), np.asarray(first.state.image))
    assert second.current_tab() == "dream"
    occlusion = second.panes["occlusion"]
    assert occlusion.fill == "black" and occlusion.form.value("seed") == 7
    assert "layer" in problems["occlusion"]  # the tiny net's layer is not in the bundled model


def test_a_session_without_a_model_loads_the_bundled_one_when_its_file_is_gone(window, qtbot, tmp_path,
                                                                              monkeypatch):
    from cnnviz.core.files.session_file import ModelSource, Session, write_session

    path = write_session(tmp_path / "gone.cnnviz", Session(
        model=ModelSource("file", str(tmp_path / "gone.pt")), tab="filters",
        panes={"filters": {"colormap": "magma"}}))
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: None)
    restored = []
    window.sessions.restored.connect(restored.append)
    window.sessions.open(path)
    qtbot.waitUntil(lambda: bool(restored), timeout=60_000)
    assert window.state.model.source == "default" and window.panes["filters"].form.value("colormap") == "magma"


def test_a_bad_session_file_is_refused_with_a_dialog(window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.cnnviz"
    bad.write_text("not a zip")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    assert not window.sessions.open(bad)
    assert len(shown) == 1 and "not a zip archive" in shown[0]


def test_the_command_line_opens_a_session(make_window, settle, qtbot, app, tmp_path):
    first = changed_window(make_window, settle)
    path = first.sessions.save(tmp_path / "cli.cnnviz")
    first.close()
    seen = {}

    def close_when_restored() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        window = windows[0] if windows else None
        if (window is not None and not window.sessions.restoring and window.controller.settled
                and window.panes["occlusion"].fill == "black"):
            seen.update(tab=window.current_tab(), target=window.state.target,
                        dream=window.panes["dream"].settings(), image=window.state.image_name)
            window.close()
        else:
            QTimer.singleShot(50, close_when_restored)

    QTimer.singleShot(50, close_when_restored)
    assert cli.main(["--session", str(path)]) == 0
    assert seen == {"tab": "occlusion", "target": 3, "dream": first.panes["dream"].settings(),
                    "image": first.state.image_name}
    assert settings.load_recent()[0] == ("session", path)


@pytest.mark.parametrize(("argv", "message"), [
    (["--session", "/no/such.cnnviz"], "Cannot open the session"),
    (["--session", "x.cnnviz", "--model", "default"], "leave out --model"),
])
def test_bad_session_arguments_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_recent_lists_sessions_and_model_files(make_window, settle, qtbot, tmp_path):
    model_file = tmp_path / "tiny.py"
    model_file.write_text(TINY_NET, encoding="utf-8")
    window = make_window(remember=True)
    window.model_loader.load(ModelSpec("file", str(model_file)))
    window.controller.open_sample(images.default_sample())
    settle(window)
    saved = window.sessions.save(tmp_path / "recent.cnnviz")
    assert settings.load_recent() == [("session", saved), ("model", model_file)]
    window.sessions.recent.fill()
    texts = [action.text() for action in window.sessions.recent.menu.actions()]
    assert texts[:2] == ["Session: recent.cnnviz", "Model: tiny.py"] and texts[-1] == "Clear recent"
    restored = []
    window.sessions.restored.connect(restored.append)
    window.sessions.recent.menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: bool(restored), timeout=60_000)
    for index in range(12):
        settings.add_recent("session", tmp_path / f"s{index}.cnnviz")
    assert len(settings.load_recent()) == settings.RECENT_LIMIT
    assert settings.load_recent()[0] == ("session", tmp_path / "s11.cnnviz")


def test_pane_settings_and_the_tab_are_remembered_across_windows(make_window, settle, qtbot):
    first = make_window(remember=True)
    first.controller.load_model(ModelSpec())
    first.controller.open_sample(images.default_sample())
    settle(first)
    first.panes["activations"].form.widget("opacity").setValue(33)
    fill = first.panes["occlusion"].form.widget("fill")
    fill.setCurrentIndex(fill.findData("black"))
    first.panes["occlusion"].form.widget("window").setValue(9)
    first.panes["dream"].form.widget("iterations").setValue(7)
    first.bring_to_front("features")
    first.close()
    assert settings_store.load_text("panes/occlusion/window") == "9"

    second = make_window(remember=True)
    assert second.current_tab() == "features"
    assert second.panes["activations"].form.value("opacity") == 33 and second.panes["occlusion"].fill == "black"
    assert second.panes["dream"].form.widget("iterations").value() == 7
    second.controller.load_model(ModelSpec())
    qtbot.waitUntil(lambda: bool(second.panes["occlusion"].picker.choices), timeout=60_000)
    assert second.panes["occlusion"].form.value("window") == 9  # set again after the model's own default
    second.panes["activations"].form.widget("opacity").setValue(12)
    assert settings_store.load_text("panes/activations/opacity") == "12"


def test_a_window_that_does_not_remember_leaves_the_settings_alone(make_window):
    window = make_window()
    window.panes["activations"].form.widget("opacity").setValue(21)
    window.close()
    assert settings_store.load_text("panes/activations/opacity") == "" and settings.load_tab() == ""


def test_session_settings_are_checked_against_the_analysis_dataclass():
    from cnnviz.gui.app.sessions import checked_settings

    kept, dropped = checked_settings("occlusion", {"window": 0, "fill": "noise", "seed": 3, "auto": True,
                                                   "colormap": "purple"})
    assert kept == {"fill": "noise", "seed": 3, "auto": True}
    assert set(dropped) == {"window", "colormap"} and "outside 1…4096" in dropped["window"]
    assert checked_settings("report", {"anything": 1}) == ({"anything": 1}, {})


def test_every_panes_settings_fit_its_analysis_settings(loaded_window):
    """What a pane saves in a session is what its analysis's Settings dataclass accepts: nothing is dropped."""
    from cnnviz.gui.app.sessions import checked_settings
    from cnnviz.gui.panes.tool_pane import ToolPane

    for key, pane in loaded_window.panes.items():
        if isinstance(pane, ToolPane):
            assert checked_settings(key, pane.settings())[1] == {}, key


def sample_folder(tmp_path: Path) -> Path:
    """An image folder of the bundled Fashion-MNIST samples, one subfolder per class."""
    root = tmp_path / "samples"
    for sample in images.samples():
        if sample.kind == "fashion-mnist":
            (root / sample.label).mkdir(parents=True, exist_ok=True)
            shutil.copy(sample.path, root / sample.label / sample.path.name)
    return root


def chosen_dataset(window: MainWindow, folder: Path, qtbot) -> None:
    """Open ``folder`` in the Dataset pane and wait until it is the shared dataset and the layers are listed."""
    pane = window.panes["dataset"]
    pane.open_folder(folder)
    qtbot.waitUntil(lambda: window.state.dataset is not None and window.state.dataset.root == folder
                    and bool(pane.checklist.layers()) and pane.settled, timeout=60_000)


def report_of(window: MainWindow):
    return window.panes["report"]


def studied_window(make_window, settle, show_pane, qtbot, folder: Path) -> MainWindow:
    """A window with ``folder`` as its dataset, two scan layers ticked, Deconvnet on channel 5 at (2, 3) and
    two figures in the report, the second's caption edited."""
    window = make_window()
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.samples()[1])
    settle(window)
    deconv = show_pane(window, "deconvnet")
    deconv.channel_spin.setValue(5)
    deconv.choose_position((2, 3))
    show_pane(window, "deconvnet")
    assert (deconv.result.channel, deconv.result.position) == (5, (2, 3))
    assert add_to_report(window, deconv) is not None
    assert add_to_report(window, show_pane(window, "filters")) is not None
    report_of(window).set_text(1, "Filters of the first layer,\nedited.")
    dataset = show_pane(window, "dataset")
    chosen_dataset(window, folder, qtbot)
    layers = dataset.checklist.layers()
    assert dataset.apply_settings({"layers": [layers[0], layers[2]]}) == {}
    assert dataset.checklist.checked() == [layers[0], layers[2]]
    return window


def test_the_dataset_scan_layers_deconv_unit_and_report_come_back(make_window, settle, show_pane, qtbot, tmp_path):
    folder = sample_folder(tmp_path)
    first = studied_window(make_window, settle, show_pane, qtbot, folder)
    layers = first.panes["dataset"].checklist.checked()
    items = report_of(first).items()
    path = first.sessions.save(tmp_path / "study")
    saved = read_session(path)
    assert saved.panes["deconvnet"] | {"layer": ""} == {"layer": "", "method": "deconvnet", "display": "symmetric",
                                                         "channel": 5, "row": 2, "col": 3}
    assert saved.display["deconvnet"] == {"top9": False} and saved.panes["dataset"]["layers"] == layers
    assert saved.dataset == session_file.DatasetSource("folder", str(folder)) and len(saved.report) == 2

    second = make_window()
    assert open_and_wait(second, path, qtbot) == {}
    qtbot.waitUntil(lambda: second.state.dataset is not None, timeout=60_000)
    assert second.state.dataset.root == folder and len(second.state.dataset) == len(first.state.dataset)
    assert report_of(second).items() == items and items[1].text == "Filters of the first layer,\nedited."
    deconv = show_pane(second, "deconvnet")
    shown, before = deconv.result, first.panes["deconvnet"].result
    assert (shown.channel, shown.position, shown.box) == (5, (2, 3), before.box)
    np.testing.assert_array_equal(shown.projection, before.projection)
    dataset = show_pane(second, "dataset")
    qtbot.waitUntil(lambda: bool(dataset.checklist.layers()) and dataset.settled, timeout=60_000)
    assert dataset.checklist.checked() == layers and dataset.dataset is second.state.dataset
    for key in ("deconvnet", "dataset"):
        assert second.panes[key].settings() == first.panes[key].settings(), key


def test_a_session_whose_dataset_folder_is_gone_restores_the_rest(make_window, settle, show_pane, qtbot, tmp_path):
    folder = sample_folder(tmp_path)
    first = studied_window(make_window, settle, show_pane, qtbot, folder)
    path = first.sessions.save(tmp_path / "gone.cnnviz")
    shutil.rmtree(folder)
    second = make_window()
    problems = open_and_wait(second, path, qtbot)
    assert problems == {"dataset": {"folder": f"the folder {folder} no longer exists"}}
    assert second.state.dataset is None and report_of(second).items() == report_of(first).items()
    assert second.current_tab() == "dataset" and second.state.image_name == first.state.image_name
    assert f"dataset folder: the folder {folder} no longer exists" in second.statusBar().currentMessage()
    deconv = show_pane(second, "deconvnet")
    assert (deconv.result.channel, deconv.result.position) == (5, (2, 3))


def test_a_format_1_session_still_opens_and_leaves_the_report_alone(loaded_window, show_pane, qtbot, tmp_path):
    """Format 1 had every pane value in ``panes`` and no dataset or report."""
    assert add_to_report(loaded_window, show_pane(loaded_window, "filters")) is not None
    items = report_of(loaded_window).items()
    old = {"format": FORMAT, "format_version": 1, "cnnviz": "0.9", "tab": "occlusion",
           "panes": {"occlusion": {"fill": "black", "window": 9, "opacity": 40}, "deconvnet": {"top9": True}}}
    path = tmp_path / "old.cnnviz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(JSON_NAME, json.dumps(old))
    assert open_and_wait(loaded_window, path, qtbot) == {}
    occlusion = loaded_window.panes["occlusion"]
    assert (occlusion.fill, occlusion.form.value("window")) == ("black", 9)
    assert loaded_window.panes["deconvnet"].top_mode and loaded_window.current_tab() == "occlusion"
    assert report_of(loaded_window).items() == items and loaded_window.state.dataset is None


def test_a_hostile_report_figure_is_refused_with_its_reason(loaded_window, show_pane, tmp_path, monkeypatch):
    assert add_to_report(loaded_window, show_pane(loaded_window, "filters")) is not None
    path = loaded_window.sessions.save(tmp_path / "figures.cnnviz")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    monkeypatch.setattr(session_file, "MAX_FIGURE_BYTES", 100)
    assert not loaded_window.sessions.open(path)
    assert len(shown) == 1 and "report/01.png is too large" in shown[0]
    monkeypatch.setattr(session_file, "MAX_FIGURE_BYTES", 64 * 2**20)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, b"GIF89a, not a PNG" if name == "report/01.png" else data)
    assert not loaded_window.sessions.open(path)
    assert len(shown) == 2 and "report/01.png is not a readable PNG image" in shown[1]


def test_a_session_stores_each_analysis_settings_apart_from_display_values(loaded_window, tmp_path):
    """``panes`` holds only fields of the pane's analysis's Settings; everything else is in ``display``."""
    from cnnviz.gui.app.sessions import settings_class, split_settings

    saved = read_session(loaded_window.sessions.save(tmp_path / "split.cnnviz"))
    assert set(saved.panes) == {"filters", "activations", "deconvnet", "dream", "occlusion", "attribution",
                                "invariance", "dataset", "features", "training"}
    training = saved.panes.pop("training")
    assert {"mode", "lr", "train_share", "split_seed", "runs_shown"} <= set(training)
    assert settings_class("training") is None
    for key, values in saved.panes.items():
        fields = {entry.name for entry in analysis_settings.infos(settings_class(key))}
        assert values and set(values) <= fields, key
        assert not set(saved.display.get(key, {})) & fields, key
    assert settings_class("deconvnet") is registry.get("deconv").settings and settings_class("report") is None
    assert split_settings("deconvnet", {"layer": "a", "top9": True, "channel": 2, "row": None}) == (
        {"layer": "a", "channel": 2, "row": None}, {"top9": True})
    assert split_settings("report", {"x": 1}) == ({"x": 1}, {})
