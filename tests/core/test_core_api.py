"""The public core API: its exported names, keyword-only options and one-image checks."""

import pytest
import torch
from torch import nn

import cnnviz.core
from cnnviz.core import deconv, invariance, layers, occlusion, wrap


def test_every_exported_name_resolves():
    assert {"wrap", "LoadedModel", "Cancelled", "ProgressFn", "occlusion", "deconv", "invariance", "dream",
            "layers", "filters", "images", "models", "forward"} <= set(cnnviz.core.__all__)
    for name in cnnviz.core.__all__:
        assert getattr(cnnviz.core, name) is not None, name
    assert cnnviz.core.wrap is cnnviz.core.models.wrap is cnnviz.core.model.models.wrap
    assert cnnviz.core.LoadedModel is cnnviz.core.models.LoadedModel


def test_models_facade_keeps_its_public_names():
    from cnnviz.core.model import model_files, models, zoo

    for name in ("load_default", "load_zoo", "load_file", "load", "LoadedModel", "IMAGENET_MEAN", "IMAGENET_STD",
                 "ZOO", "zoo_names", "zoo_weights", "weights_path", "weights_cache_dir", "is_cached",
                 "download_weights", "guess_arch", "class_name", "output_logits", "available_devices",
                 "ModelLoadError", "WeightsDownloadError", "UntrustedFileError", "UnknownArchitectureError"):
        assert hasattr(models, name), name
    assert models.load_zoo is zoo.load_zoo and models.load_file is model_files.load_file


def test_options_after_the_input_are_keyword_only(bundled, boot):
    with pytest.raises(TypeError):
        occlusion.occlude(bundled, boot, None, 8)
    with pytest.raises(TypeError):
        invariance.curves(bundled, boot, "rotation")
    with pytest.raises(TypeError):
        deconv.project_unit(bundled, boot, "features.relu3")
    with pytest.raises(TypeError):
        bundled.predict(boot, 3)


def test_a_batch_where_one_image_is_supported_is_a_clear_error(bundled, boot):
    batch = boot.repeat(4, 1, 1, 1)
    with pytest.raises(ValueError, match="occlusion works on one image at a time; got a batch of 4"):
        occlusion.occlude(bundled, batch)
    with pytest.raises(ValueError, match="invariance works on one image at a time; got a batch of 4"):
        invariance.curves(bundled, batch, values=[0])
    with pytest.raises(ValueError, match="one image at a time; got a batch of 4"):
        deconv.project_unit(bundled, batch, layer="features.relu3")
    with pytest.raises(ValueError, match="one image at a time; got a batch of 4"):
        deconv.top_units(bundled, batch, layer="features.relu3")
    with pytest.raises(ValueError, match="predict works on one image at a time; got a batch of 4"):
        bundled.predict(batch)
    with pytest.raises(ValueError, match=r"needs an input of shape \[1, C, H, W\]"):
        occlusion.occlude(bundled, boot[0])
    assert layers.capture(bundled, batch, layers="features.relu1")["features.relu1"].shape[0] == 4


def test_one_projection_call_gives_the_warning_for_silu():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Conv2d(4, 2, 3), nn.ReLU())
    model = wrap(net, input_size=(12, 12))
    x = torch.randn(1, 3, 12, 12)
    layers.trace(model)
    calls = []
    handle = net.register_forward_pre_hook(lambda module, inputs: calls.append(1))
    try:
        projection = deconv.project_unit(model, x, layer="3", method="deconvnet")
    finally:
        handle.remove()
    assert len(calls) == 1
    assert projection.unhandled == ("silu",) and (projection.layer, projection.method) == ("3", "deconvnet")
    assert "silu" in projection.warning and "deconvnet" in projection.warning and "3" in projection.warning
    assert projection.image.shape == (3, 12, 12)
    assert all(unit.unhandled == ("silu",) for unit in deconv.top_units(model, x, layer="3", k=2, method="guided"))
    assert deconv.project_unit(model, x, layer="3", method="gradient").warning == ""
    assert deconv.unhandled_nonlinearities(model, x, layer="3") == ["silu"]
    relu_only = wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), input_size=(12, 12))
    assert deconv.project_unit(relu_only, x, layer="1").warning == ""
