"""The Predictions pane with a model whose output is not finite for the image shown."""

import math

from PySide6.QtGui import QTextDocument

from cnnviz.core.data import images
from cnnviz.gui.panes.predictions import PROBABILITY_ROLE, percent
from cnnviz.gui.runtime.controller import NON_FINITE_WARNING
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.screenshot import grab

# Finite on the loader's all-zero check input, NaN on any image with a pixel brighter than the mean.
NAN_ON_BRIGHT_PIXELS = """
import torch
from torch import nn

INPUT_SIZE = (16, 16)
IN_CHANNELS = 1
MEAN = (0.5,)
STD = (0.5,)


class NanOnBright(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 3)

    def forward(self, x):
        return self.fc(x.flatten(1)) * torch.sqrt(0.5 - x.amax())


def build():
    return NanOnBright()
"""



def test_percent_of_a_non_finite_probability_is_not_a_number():
    assert percent(math.nan) == "n/a" and percent(math.inf) == "n/a"
    assert (percent(0.973), percent(0.0042), percent(0.0)) == ("97.3%", "0.42%", "<0.01%")


def test_non_finite_outputs_show_a_warning_and_no_numbers(window, settle, tmp_path, qtbot):
    path = tmp_path / "nan_on_bright.py"
    path.write_text(NAN_ON_BRIGHT_PIXELS, encoding="utf-8")
    messages: list[str] = []
    window.state.status_message.connect(messages.append)
    window.controller.load_model(ModelSpec("file", str(path)))
    window.controller.open_sample(images.default_sample())
    settle(window)
    predictions = window.state.predictions
    assert predictions is not None and not math.isfinite(predictions.top[0][2])
    assert NON_FINITE_WARNING in messages
    pane = window.panes["predictions"]
    bars = [pane.table.item(row, 1) for row in range(pane.table.rowCount())]
    assert bars and all(not math.isfinite(bar.data(PROBABILITY_ROLE)) for bar in bars)
    assert not grab(pane).isNull()  # painting NaN bars no longer raises


def test_the_target_line_shows_a_tiny_probability_whole(loaded_window):
    pane = loaded_window.panes["predictions"]
    probabilities = loaded_window.state.predictions.probabilities
    target = int(probabilities.argmin())
    assert percent(float(probabilities[target])) == "<0.01%"
    loaded_window.controller.choose_target(target)
    shown = QTextDocument()
    shown.setHtml(pane.target_label.text())
    name = loaded_window.state.model.class_name(target)
    assert shown.toPlainText() == f"target: {name} (class {target}, p = <0.01%)"
