"""The cnnviz command: --help, errors, --screenshot in a subprocess, and the real xcb window under Xvfb."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from xvfb import xvfb_display

from cnnviz import cli
from cnnviz.core.model import models, zoo
from cnnviz.gui.app import command_line, settings
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.app.registry import pane_keys

OPTIONS = ["--model", "--arch", "--image", "--device", "--untrained", "--trust", "--screenshot",
           "--pane", "--size", "--version", "--help"]


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), TORCH_HOME=str(tmp_path / "torch"), **extra)
    return env


def assert_non_blank_png(path: Path, size: tuple[int, int]) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        assert float(np.asarray(image.convert("RGB"), dtype=np.float32).std()) > 10.0


def test_help_lists_every_option_and_pane(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option in text
    for key in pane_keys():
        assert key in text
    for name in models.zoo_names():
        assert name in text
    assert "cnnviz scan --data DIR" in text and "cnnviz scan-merge part*.npz" in text


@pytest.mark.parametrize("argv, message", [
    (["--pane", "nonsense"], "invalid choice"),
    (["--size", "big"], "WIDTHxHEIGHT"),
    (["--model", "no_such_model"], "neither 'default'"),
    (["--image", "/no/such/image.png"], "does not exist"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys, tmp_path):
    assert cli.main(argv + ["--screenshot", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert message in err
    if argv[0] == "--pane":
        assert all(key in err for key in pane_keys())
    assert not (tmp_path / "out.png").exists()


def test_screenshot_of_an_uncached_zoo_model_explains_the_download_failure(capsys, tmp_path,
                                                                          monkeypatch):
    def refuse(name, *, timeout=30.0):
        raise models.WeightsDownloadError(models.zoo_weights(name).url, models.weights_path(name),
                                          "network error: offline")

    monkeypatch.setattr(zoo, "download_weights", refuse)
    assert cli.main(["--model", "alexnet", "--screenshot", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert models.zoo_weights("alexnet").url in err
    assert str(models.weights_cache_dir()) in err
    assert "pass --untrained" in err


def test_screenshot_in_process_with_a_pane(capsys, tmp_path, app):
    out = tmp_path / "arch.png"
    assert cli.main(["--screenshot", str(out), "--pane", "architecture", "--size", "1200x800"]) == 0
    with Image.open(out) as image:
        width, height = image.size
    assert 1000 < width <= 1200 and 100 < height < 800
    assert "saved" in capsys.readouterr().out


def test_screenshot_subprocess_offscreen(tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "cnnviz", "--screenshot", str(out), "--size", "1280x800"],
        env=child_env(tmp_path, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True,
        timeout=180)
    assert result.returncode == 0, result.stderr
    assert_non_blank_png(out, (1280, 800))
    assert not (tmp_path / "config" / "cnnviz").exists()


def test_real_window_under_xvfb(tmp_path):
    with xvfb_display(1600, 1000) as display:
        out = tmp_path / "xcb.png"
        env = child_env(tmp_path, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        result = subprocess.run([sys.executable, "-m", "cnnviz", "--screenshot", str(out)],
                                env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert_non_blank_png(out, command_line.DEFAULT_SCREENSHOT_SIZE)


def test_interactive_run_opens_the_requested_model_and_image(app, qtbot):
    """``cnnviz --model alexnet --untrained --image NAME`` shows both, remembers them, and exits 0."""
    seen = {}

    def close_when_ready() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].controller.settled and windows[0].state.model.name == "alexnet":
            seen["title"] = windows[0].windowTitle()
            seen["image"] = windows[0].state.image_name
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    assert cli.main(["--model", "alexnet", "--untrained", "--image", "fmnist_bag"]) == 0
    assert "alexnet" in seen["title"] and "UNTRAINED" in seen["title"]
    assert seen["image"] == "fmnist_bag.png"
    assert settings.load_model_spec().name == "alexnet"
    assert settings.load_image_path().name == "fmnist_bag.png"
