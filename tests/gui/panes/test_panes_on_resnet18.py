"""The three tool panes on an untrained torchvision ResNet-18: RGB filters, a residual block whose
ReLU module runs twice (in place), its projection, and the model left as it was."""

import copy

import numpy as np
import torch

from cnnviz.core.data import images
from cnnviz.core.model import layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import deconv, filters
from cnnviz.gui.runtime.model_spec import ModelSpec


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    assert index >= 0, name
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def test_resnet18_filters_block_activations_and_projection(window, settle, show_pane, qtbot):
    window.controller.load_model(ModelSpec("zoo", "resnet18", pretrained=False))
    window.controller.open_sample(images.sample("chelsea"))
    settle(window)
    model, x = window.state.model, window.state.input_tensor
    module = model.module
    state_before = copy.deepcopy(module.state_dict())
    flags_before = [p.requires_grad for p in module.parameters()]

    pane = show_pane(window, "filters")
    assert pane.layer == "conv1" and pane.form.value("view") == "rgb"
    assert pane.view.atlas.atlas.count == 64 and pane.view.atlas.atlas.image.shape[2] == 3
    expected, _ = filters.filter_images(filters.weights(model, "conv1"), "rgb")
    np.testing.assert_array_equal(pane.view.atlas.tile_array(9), expected[9])

    pane = show_pane(window, "activations")
    pick_layer(pane, "layer1.1")
    qtbot.waitUntil(lambda: pane.settled and pane.output is not None and pane.output.layer == "layer1.1")
    assert pane.layer_binding.choice.type == "BasicBlock" and pane.view.atlas.atlas.count == 64
    block = layers.capture(model, x, layers=["layer1.1"])["layer1.1"][0]
    np.testing.assert_array_equal(pane.output.values.numpy(), block.numpy())
    pick_layer(pane, "layer1.1.relu")
    qtbot.waitUntil(lambda: pane.settled and pane.output.layer == "layer1.1.relu")
    assert pane.layer_binding.choice.calls == 2 and "called 2×" in pane.view.title.text()
    np.testing.assert_array_equal(pane.output.values.numpy(), block.numpy())

    pane = show_pane(window, "deconvnet")
    assert pane.layer == "layer1.1.relu"
    pick_layer(pane, "layer1.1")
    qtbot.waitUntil(lambda: pane.settled and pane.result is not None and pane.result.layer == "layer1.1")
    expected = deconv.project_unit(model, x, layer="layer1.1", method="deconvnet")
    shown = pane.result
    assert (shown.channel, shown.position, shown.box) == (expected.channel, expected.position, expected.box)
    np.testing.assert_array_equal(shown.projection, expected.image.numpy())
    assert pane.unit_view.projection_panel.canvas.image.shape == (224, 224, 3)
    assert not pane.remarks.warning.isVisible()

    assert hook_count(module) == 0
    assert [p.requires_grad for p in module.parameters()] == flags_before
    assert all(p.grad is None for p in module.parameters()) and not module.training
    assert all(torch.equal(state_before[k], v) for k, v in module.state_dict().items())
