"""The Activations and Deconvnet panes with a model whose maps are NaN for the image shown: no NaN maps are drawn;
the info line shows the message the analyses give (:func:`cnnviz.analyses.finite.non_finite_message`), in red as
every pane shows a failure."""

import pytest

from cnnviz.analyses.finite import non_finite_message
from cnnviz.core.data import images
from cnnviz.gui.runtime.model_spec import ModelSpec

# Finite on the loader's all-zero check input; the ReLU's maps are NaN on any image brighter than the mean.
NAN_MAPS_ON_BRIGHT_PIXELS = """
import torch
from torch import nn

INPUT_SIZE = (16, 16)
IN_CHANNELS = 1
MEAN = (0.5,)
STD = (0.5,)


class NanOnBright(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.relu = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(4, 3)

    def forward(self, x):
        maps = self.relu(self.conv(x) * torch.sqrt(0.5 - x.amax()))
        return self.fc(self.pool(maps).flatten(1))


def build():
    return NanOnBright()
"""


@pytest.fixture
def nan_window(window, settle, tmp_path):
    """A window showing the NaN-on-bright model on the default sample (which has bright pixels)."""
    path = tmp_path / "nan_maps_on_bright.py"
    path.write_text(NAN_MAPS_ON_BRIGHT_PIXELS, encoding="utf-8")
    window.controller.load_model(ModelSpec("file", str(path)))
    window.controller.open_sample(images.default_sample())
    return settle(window)


def shown_on(window, show_pane, qtbot, key: str):
    """Pane ``key`` showing layer ``relu``, once it has said why it shows nothing."""
    pane = show_pane(window, key)
    window.state.set_layer("relu")
    qtbot.waitUntil(lambda: pane.layer == "relu" and pane.jobs.error != "", timeout=30_000)
    return pane


def test_activations_show_the_message_not_nan_maps(nan_window, show_pane, qtbot):
    pane = shown_on(nan_window, show_pane, qtbot, "activations")
    assert pane.jobs.error == non_finite_message(nan_window.state.model, "relu")
    assert pane.result is None and pane.view.result is None and not pane.export.action.isEnabled()
    nan_window.state.set_layer("conv")
    qtbot.waitUntil(lambda: pane.result is not None and pane.result.layer == "conv", timeout=30_000)
    assert pane.jobs.error == ""


def test_deconvnet_shows_the_message_not_nan_maps(nan_window, show_pane, qtbot):
    pane = shown_on(nan_window, show_pane, qtbot, "deconvnet")
    message = non_finite_message(nan_window.state.model, "relu")
    qtbot.waitUntil(lambda: not pane.jobs.is_running("project"), timeout=30_000)
    qtbot.wait(100)
    assert pane.jobs.error.endswith(message)
    assert pane.unit_view.shown_output is None and pane.analysis_result() is None
    assert not pane.export.action.isEnabled()
    pane.top_button.setChecked(True)
    qtbot.waitUntil(lambda: pane.jobs.error.startswith("Projecting the top"), timeout=30_000)
    assert pane.jobs.error.endswith(message) and pane.analysis_result() is None
