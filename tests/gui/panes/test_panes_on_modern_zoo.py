"""The tool panes on the modern zoo CNNs, untrained: ConvNeXt's channels-last layers are not offered
(the layer table still lists them) and the deconvnet pane on EfficientNet-B0 says SiLU has no rule."""

import dataclasses

import numpy as np
import pytest
import torch

from cnnviz.core.data import images
from cnnviz.core.model import layers, models
from cnnviz.core.per_image import deconv
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.layer_picker import layer_choices
from tests.gui.panes.test_panes_on_resnet18 import pick_layer


@pytest.fixture
def one_thread():
    """One torch thread: on a 2-core machine shared with other work it spends far less CPU than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_convnext_channels_last_layers_are_not_offered(one_thread):
    model = models.load_zoo("convnext_tiny", pretrained=False)
    model = dataclasses.replace(model, input_size=(64, 64), cache={})
    offered = {choice.name: choice for choice in layer_choices(model)}
    inside = [f"features.1.0.block.{i}" for i in range(1, 6)]
    assert not set(inside) & set(offered)
    assert offered["features.1.0.block.0"].shape == (96, 16, 16) and offered["features.1.0"].shape == (96, 16, 16)
    rows = {row.name: row for row in layers.layer_table(model)}
    assert rows["features.1.0.block.3"].output_shape == (16, 16, 384) and rows["features.1.0.block.3"].params > 0


def test_efficientnet_deconvnet_pane_warns_about_silu(one_thread, window, settle, show_pane, qtbot):
    window.controller.load_model(ModelSpec("zoo", "efficientnet_b0", pretrained=False))
    window.controller.open_sample(images.sample("chelsea"))
    settle(window)
    model, x = window.state.model, window.state.input_tensor
    assert model.input_size == (224, 224) and model.resize_size == 256

    pane = show_pane(window, "deconvnet")
    pick_layer(pane, "features.2.0")
    qtbot.waitUntil(lambda: pane.settled and pane.result is not None and pane.result.layer == "features.2.0")
    expected = deconv.project_unit(model, x, layer="features.2.0", method="deconvnet")
    assert expected.unhandled == ("silu",) and pane.result.warning == expected.warning
    np.testing.assert_array_equal(pane.result.projection, expected.image.numpy())
    assert pane.remarks.warning.isVisible() and "silu" in pane.remarks.warning.text()
