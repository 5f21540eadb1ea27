"""The activation store: captures on the compute worker, cached per input, bounded, reset by a new
input; and the layer choices the panes offer."""

import torch

from cnnviz.core.data import images
from cnnviz.core.model import layers, models
from cnnviz.core.model.hooks import hook_count
from cnnviz.gui.runtime import activation_store
from cnnviz.gui.widgets.layer_picker import conv_choices, layer_choices


def test_capture_once_then_cached_bounded_and_reset_by_a_new_image(loaded_window, qtbot, settle, monkeypatch):
    store = loaded_window.controller.activations
    state = loaded_window.state
    with qtbot.waitSignal(store.captured, timeout=10_000) as blocker:
        assert store.request("features.conv2", "test") is None
        assert store.is_running("features.conv2")
    output = blocker.args[0]
    assert output.layer == "features.conv2" and output.input is state.input_tensor
    expected = layers.capture(state.model, state.input_tensor, layers=["features.conv2"])["features.conv2"][0]
    assert torch.equal(output.values, expected)
    assert store.request("features.conv2", "other") is output
    assert not store.is_running("features.conv2")

    monkeypatch.setattr(activation_store, "MAX_LAYERS", 3)
    for name in ("features.conv1", "features.conv3", "classifier.fc1"):
        with qtbot.waitSignal(store.captured, timeout=10_000):
            store.request(name, "test")
    assert store.get("features.conv2") is None
    assert store.get("classifier.fc1").values.shape == (128,)

    loaded_window.controller.open_sample(images.sample("fmnist_dress"))
    qtbot.waitUntil(lambda: state.image_name == "fmnist_dress.png", timeout=10_000)
    assert store.get("classifier.fc1") is None
    settle(loaded_window)
    assert hook_count(state.model.module) == 0


def test_a_requester_switching_layers_cancels_its_previous_capture(loaded_window):
    store = loaded_window.controller.activations
    store.request("features.conv3", "pane")
    store.request("features.conv1", "pane")
    assert not store.is_running("features.conv3") and store.is_running("features.conv1")
    store.request("features.conv2", "one")
    store.request("features.conv2", "two")
    store.request("features.pool3", "one")
    assert store.is_running("features.conv2")


def test_layer_choices_include_blocks_and_mark_class_scores():
    bundled = models.load_default()
    choices = {c.name: c for c in layer_choices(bundled)}
    assert choices["features"].shape == (128, 3, 3) and choices["features.conv1"].type == "Conv2d"
    assert choices["classifier.fc2"].class_scores and choices["classifier"].class_scores
    assert not choices["classifier.fc1"].class_scores and choices["classifier.fc1"].is_vector
    assert [c.name for c in conv_choices(bundled)] == ["features.conv1", "features.conv2", "features.conv3"]
    resnet = models.load_zoo("resnet18", pretrained=False)
    choices = {c.name: c for c in layer_choices(resnet)}
    assert choices["layer3.1"].type == "BasicBlock" and choices["layer3.1.relu"].calls == 2
    assert choices["fc"].class_scores and not choices["avgpool"].is_vector
    assert "layer3.1.relu" in choices["layer3.1.relu"].label and "256×14×14" in choices["layer3.1"].label


def test_cache_is_bounded_in_bytes_keeping_the_newest(loaded_window, qtbot, monkeypatch):
    store = loaded_window.controller.activations
    names = ("features.conv1", "features.conv2", "features.conv3")
    sizes = {}
    for name in names:
        with qtbot.waitSignal(store.captured, timeout=10_000) as blocker:
            store.request(name, "test")
        sizes[name] = blocker.args[0].values.numel() * 4
    assert store.cached_bytes == sum(sizes.values())
    store.reset()
    assert store.cached_bytes == 0
    monkeypatch.setattr(activation_store, "MAX_BYTES", sizes["features.conv2"] + sizes["features.conv3"])
    for name in names:
        with qtbot.waitSignal(store.captured, timeout=10_000):
            store.request(name, "test")
    assert [name for name in names if store.get(name) is not None] == ["features.conv2", "features.conv3"]
    assert store.cached_bytes == sizes["features.conv2"] + sizes["features.conv3"]
    monkeypatch.setattr(activation_store, "MAX_BYTES", 1)
    with qtbot.waitSignal(store.captured, timeout=10_000):
        store.request("features.conv1", "test")
    assert store.get("features.conv1") is not None and store.cached_bytes == sizes["features.conv1"]
