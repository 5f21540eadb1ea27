"""The modern torchvision CNNs of the zoo (DenseNet, Inception v3, EfficientNet, ConvNeXt, RegNet),
untrained and on small inputs: their structure, receptive fields checked by hand, and every
analysis of the core on them (capture, filters, projections, occlusion, invariance, dream,
attribution)."""

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from cnnviz.core.model import layers, models
from cnnviz.core.per_image import attribution, deconv, dream, filters, invariance, occlusion
from cnnviz.core.per_image.dream_config import DreamConfig

MODERN = ("densenet121", "inception_v3", "efficientnet_b0", "convnext_tiny", "regnet_y_400mf")
SIDE = {"inception_v3": 80}
"""Input side in pixels: Inception v3 needs at least 75, the others run on 64 (a 2×2 last grid)."""
UNHANDLED = {"efficientnet_b0": ("silu",), "convnext_tiny": ("gelu",)}
"""Nonlinearities without a deconvnet/guided rule; the other three are ReLU networks."""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models on a 2-core machine shared with other work: one torch thread spends 5 to 15 times
    less CPU than two fighting for the cores (the results do not depend on it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    """Function giving zoo model ``name``, untrained (seed 0), with a small input size (``full=True``:
    as loaded); loaded once per module, with warnings as errors (torchvision's weight-initialisation
    warnings included)."""
    loaded: dict[str, tuple[models.LoadedModel, models.LoadedModel]] = {}

    def get(name: str, full: bool = False) -> models.LoadedModel:
        if name not in loaded:
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                model = models.load_zoo(name, pretrained=False)
            side = SIDE.get(name, 64)
            loaded[name] = model, dataclasses.replace(model, input_size=(side, side), cache={})
        return loaded[name][0 if full else 1]

    return get


def image_for(model: models.LoadedModel) -> torch.Tensor:
    return torch.randn(1, 3, *model.input_size, generator=torch.Generator().manual_seed(1))


def last_conv(model: models.LoadedModel) -> str:
    return filters.conv_layers(model)[-1]


def test_the_modern_architectures_are_offered():
    assert set(MODERN) <= set(models.zoo_names())


@pytest.mark.parametrize("name, input_size, resize", [
    ("densenet121", 224, 256), ("inception_v3", 299, 342), ("efficientnet_b0", 224, 256),
    ("convnext_tiny", 224, 236), ("regnet_y_400mf", 224, 232)])
def test_untrained_models_are_built_like_the_pretrained_ones(small, name, input_size, resize):
    model = small(name)
    assert not model.pretrained and model.arch == name and not model.module.training
    assert (small(name, full=True).input_size, model.resize_size) == ((input_size, input_size), resize)
    assert model.categories[0] == "tench" and len(model.categories) == 1000
    assert models.guess_arch(model.module.state_dict()) == name
    logits = model.logits(image_for(model))
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()


def test_inception_keeps_its_auxiliary_head_and_input_transform(small):
    inception = small("inception_v3").module
    assert inception.transform_input and inception.aux_logits and inception.AuxLogits is not None
    rows = layers.layer_table(small("inception_v3"))
    uncalled = [row.name for row in rows if row.output_shape is None]
    assert uncalled and all(name.startswith("AuxLogits.") for name in uncalled)
    assert [row.name for row in rows[-len(uncalled):]] == uncalled


# Hand-computed receptive fields (input pixels) of each network's last convolution; every jump is 32.
# ConvNeXt-T: 4×4/4 stem (4), stage 1: 3 depthwise 7×7 at jump 4 (+3·24 = 76), 2×2/2 downsampling
# (+4 = 80), stage 2: 3·48 (224), +8 (232), stage 3: 9·96 (1096), +16 (1112), stage 4: blocks 0, 1
# and block 2's depthwise conv, 3·192 = 1688.
# EfficientNet-B0: 3×3/2 stem (3), then the depthwise kernels (k, stride) of the 16 blocks: 3 (7),
# 3/2, 3 (19), 5/2, 5 (67), 3/2, 3, 3 (147), 5, 5, 5 (339), 5/2, 5, 5, 5 (787), 3 (851); 1×1 head.
# RegNetY-400MF: 3×3/2 stem (3), stages of 1, 3, 6, 6 blocks, each a 3×3 group conv, stride 2 first:
# 7, 15 + 2·16 = 47, 63 + 5·32 = 223, 255 + 5·64 = 575.
# DenseNet-121: 7×7/2 (7), 3×3/2 pool (11), blocks of 6, 12, 24, 16 layers (one 3×3 conv each),
# each followed by a 2×2/2 average pool but the last: 11 + 6·8 = 59, +4 = 63, +12·16 = 255, +8 = 263,
# +24·32 = 1031, +16 = 1047, +16·64 = 2071 (the concatenations keep the largest field).
# Inception v3: Mixed_7a gives 1055; Mixed_7b's 1×1, 3×3, then 1×3 and 3×1 branches (concatenated:
# their union) 1055 + 64 + 64 = 1183; Mixed_7c the same again, 1311 (the value Araujo et al. publish
# in "Computing receptive fields of convolutional neural networks", Distill 2019); its last
# convolution, the pooling branch's 1×1 after a 3×3 average pool, 1183 + 64 = 1247.
FIELDS = {
    "convnext_tiny": ("features.7.2.block.0", 1688),
    "efficientnet_b0": ("features.8.0", 851),
    "regnet_y_400mf": ("trunk_output.block4.block4-5.f.c.0", 575),
    "densenet121": ("features.denseblock4.denselayer16.conv2", 2071),
    "inception_v3": ("Mixed_7c", 1311),
}


@pytest.mark.parametrize("name", MODERN)
def test_layer_table_totals_and_the_last_receptive_field(small, name):
    model = small(name)
    rows = {row.name: row for row in layers.layer_table(model)}
    assert layers.totals(list(rows.values()))["params"] == sum(p.numel() for p in model.module.parameters())
    assert not any(row.field_uncertain for row in rows.values())
    layer, size = FIELDS[name]
    field = layers.field_of(model, layer)
    assert (field.size, field.jump) == ((size, size), (32, 32))
    last = rows[last_conv(model)]
    assert (last.receptive_field, last.jump) == ((1247, 32) if name == "inception_v3" else (size, 32))


def test_convnext_channels_last_layers_keep_their_field(small):
    model = small("convnext_tiny")
    traced = layers.trace(model)
    conv, norm, linear, back = (traced[f"features.1.0.block.{i}"] for i in (0, 2, 3, 6))
    assert conv.output_shape == (96, 16, 16) and not conv.channels_last
    assert norm.output_shape == (16, 16, 96) and linear.output_shape == (16, 16, 384)
    assert norm.channels_last and linear.channels_last and not back.channels_last
    assert conv.field == norm.field == linear.field == back.field
    assert conv.field.size == (4 + 6 * 4,) * 2


def test_squeeze_and_excitation_gates_do_not_widen_the_field(small):
    for name, features, gated in (("efficientnet_b0", "features.1.0.block.0", "features.1.0.block.1"),
                                  ("regnet_y_400mf", "trunk_output.block1.block1-0.f.b",
                                   "trunk_output.block1.block1-0.f.se")):
        traced = layers.trace(small(name))
        assert traced[gated].field == traced[features].field
        assert traced[gated].output_shape == traced[features].output_shape


@pytest.mark.parametrize("name", MODERN)
def test_every_layer_is_captured_with_its_traced_shape(small, name):
    model = small(name)
    names = model.layer_names()
    outputs = layers.capture(model, image_for(model), layers=names)
    traced = layers.trace(model)
    assert list(outputs) == names
    for layer, output in outputs.items():
        assert tuple(output.shape[1:]) == traced[layer].output_shape, layer
        assert torch.isfinite(output).all(), layer


@pytest.mark.parametrize("name", MODERN)
def test_filters_of_the_first_and_last_convolutions(small, name):
    model = small(name)
    modules = dict(model.module.named_modules())
    first = filters.conv_layers(model)[0]
    weights = filters.weights(model, first)
    assert torch.equal(weights, modules[first].weight.detach())
    images, (low, high) = filters.filter_images(weights)
    assert images.shape == (weights.shape[0], weights.shape[2], weights.shape[3], 3)
    assert images.min() >= 0 and images.max() <= 1
    assert (low, high) == (float(weights.min()), float(weights.max()))
    last = filters.weights(model, last_conv(model))
    assert [s.norm for s in filters.stats(last)[:3]] == pytest.approx(last.flatten(1).norm(dim=1)[:3].tolist())


@pytest.mark.parametrize("name", MODERN)
def test_projections_name_the_nonlinearities_without_a_rule(small, name):
    model = small(name)
    projection = deconv.project_unit(model, image_for(model), layer=last_conv(model), method="deconvnet")
    expected = UNHANDLED.get(name, ())
    assert projection.unhandled == expected
    assert projection.image.shape == (3, *model.input_size)
    assert torch.isfinite(projection.image).all() and projection.image.abs().max() > 0
    assert bool(projection.warning) == bool(expected) and all(word in projection.warning for word in expected)


@pytest.mark.parametrize("name", MODERN)
def test_occlusion_invariance_and_one_dream_step(small, name):
    model = small(name)
    x = image_for(model)
    probs = model.probabilities(x)[0]
    target = int(probs.argmax())
    side = model.input_size[0]
    result = occlusion.occlude(model, x, window=32, stride=32)
    assert result.target == target and result.baseline_prob == pytest.approx(float(probs[target]), rel=1e-4)
    assert result.prob.shape == (len(range(0, side - 32 + 1, 32)),) * 2 and np.isfinite(result.prob).all()
    chosen = invariance.default_layers(model)
    assert len(chosen) == 2 and all(layer in layers.trace(model) for layer in chosen)
    curves = invariance.curves(model, x, kind="rotation", values=np.array([0.0, 90.0]))
    assert curves.prob[0] == pytest.approx(float(probs[target]), rel=1e-3) and np.isfinite(curves.prob).all()
    assert all(distance[0] == pytest.approx(0, abs=1e-3) for distance in curves.relative_distance.values())
    layer = last_conv(model)
    cfg = DreamConfig(layer=layer, iterations=1, octaves=1, jitter=0, prob_every=0)
    (step,) = [s.partial for s in dream.run(model, x, config=cfg)]
    activation = layers.capture(model, x, layers=layer)[layer]
    assert step.message is None and step.image.shape == x.shape and torch.isfinite(step.image).all()
    assert step.objective == pytest.approx(float(activation.norm()), rel=1e-4)


DEFAULT_CAM_LAYERS = {"densenet121": "features.norm5", "efficientnet_b0": "features.8",
                      "convnext_tiny": "features.7.2", "regnet_y_400mf": "trunk_output.block4"}
"""The last block with a grid larger than 1×1 at 64 px (Inception's, at 299 px, is checked below)."""


@pytest.mark.parametrize("name", MODERN)
def test_grad_cam_and_guided_backpropagation(small, name):
    model = small(name)
    x = image_for(model)
    cam = attribution.attribute(model, x, method="gradcam")
    if name in DEFAULT_CAM_LAYERS:
        assert cam.layer == DEFAULT_CAM_LAYERS[name]
    assert cam.map.shape == model.input_size and torch.isfinite(cam.map).all() and cam.map.min() >= 0
    guided = attribution.attribute(model, x, method="guided", target=cam.target)
    assert guided.raw.shape == (3, *model.input_size) and torch.isfinite(guided.map).all()
    assert guided.unhandled == UNHANDLED.get(name, ())


def test_every_attribution_method_on_regnet(small):
    """Every method on main, on the cheapest of the five (the methods themselves are tested elsewhere)."""
    model = small("regnet_y_400mf")
    x = image_for(model)
    for method in attribution.METHODS:
        params = {"window": 32, "stride": 32} if method == "occlusion" else {}
        result = attribution.attribute(model, x, method=method, **params)
        assert result.map.shape == model.input_size and torch.isfinite(result.map).all(), method
        assert result.unhandled == (), method


def test_inception_grad_cam_default_is_its_last_block_at_299_px(small):
    assert attribution.default_layer(small("inception_v3", full=True)) == "Mixed_7c"
