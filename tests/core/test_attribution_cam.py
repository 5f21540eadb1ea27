"""The CAM family (Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM) against the grad-cam package
(``pytorch_grad_cam``) and, for Grad-CAM, against a computation by hand."""

import functools

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from cnnviz.core.model import models
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.zoo import zoo_model
from cnnviz.core.per_image.attribution import LAYER_METHODS, attribute, attribute_steps, cam, default_layer, parameters
from cnnviz.core.per_image.attribution.cam import score_masks
from cnnviz.core.progress import Cancelled

REFERENCES = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "scorecam": ScoreCAM, "layercam": LayerCAM}
GRADIENT_CAMS = ("gradcam", "gradcam++", "layercam")
SIDE = 64
"""Input side in pixels for ResNet18's gradient CAMs (layer4.1 then has a 2×2 grid)."""
SCORE_SIDE = 40
"""Input side for ResNet18's Score-CAM, which runs the model once per channel (layer4.1: still 2×2)."""


def reference_cam(method: str, model, x: torch.Tensor, layer: str, target: int) -> np.ndarray:
    """The grad-cam package's CAM [h, w] at the layer's resolution: its ``get_cam_image`` and the ReLU
    its ``compute_cam_per_layer`` applies, before its min-max scaling and resizing. The backward pass
    goes to the input only, so no parameter gets a ``.grad``."""
    module = dict(model.module.named_modules())[layer]
    cam = REFERENCES[method](model.module, [module])
    cam.batch_size = 64  # Score-CAM's masked copies per pass (16 by default): the same result, sooner
    try:
        source = x.clone().requires_grad_(True)
        targets = [ClassifierOutputTarget(target)]
        logits = cam.activations_and_grads(source)
        if cam.uses_gradients:
            torch.autograd.grad(targets[0](logits[0]), source)
        activations = cam.activations_and_grads.activations[0].numpy()
        gradients = [g.numpy() for g in cam.activations_and_grads.gradients] or [None]
        image = cam.get_cam_image(source, module, targets, activations, gradients[0], False)
    finally:
        cam.activations_and_grads.release()
    return np.maximum(image, 0)[0]


def assert_same_cam(ours: torch.Tensor, expected: np.ndarray) -> None:
    assert tuple(ours.shape) == expected.shape
    assert expected.max() > 0
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-4, atol=1e-4 * float(expected.max()))


def ranked(model, x: torch.Tensor, place: int) -> int:
    """The class at ``place`` (0 = most probable) in the model's ranking for ``x``."""
    with torch.no_grad():
        return int(model.module(x)[0].argsort(descending=True)[place])


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    model = zoo_model(torchvision.models.resnet18().eval(), "resnet18")
    x = torch.randn(1, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))
    return model, x


@functools.cache
def _squeezenet(path):
    return models.load_file(path)


@pytest.fixture
def squeezenet(shared_model):
    """The shared ImageNet SqueezeNet and chelsea() preprocessed for it (224 px)."""
    skimage_data = pytest.importorskip("skimage.data")
    model = _squeezenet(shared_model("squeezenet1_0_imagenet"))
    return model, model.preprocess(Image.fromarray(skimage_data.chelsea()))


@pytest.mark.parametrize("method", GRADIENT_CAMS)
@pytest.mark.parametrize("layer", ["layer4.1", "layer2.1"])
@pytest.mark.parametrize("place", [0, 7])
def test_gradient_cams_equal_grad_cam_package_on_resnet18(resnet, method, layer, place):
    model, x = resnet
    target = ranked(model, x, place)
    result = attribute(model, x, method=method, layer=layer, target=target)
    assert (result.method, result.target, result.layer, result.params) == (method, target, layer, {})
    assert_same_cam(result.raw, reference_cam(method, model, x, layer, target))
    assert result.map.shape == (SIDE, SIDE) and result.map.dtype == torch.float32


@pytest.mark.parametrize(("layer", "place"), [("layer4.1", 0), ("layer1.1", 3)])
def test_score_cam_equals_grad_cam_package_on_resnet18(resnet, layer, place):
    model, x = resnet
    x = torch.nn.functional.interpolate(x, size=(SCORE_SIDE, SCORE_SIDE), mode="bilinear", antialias=True)
    target = ranked(model, x, place)
    seen = []
    result = attribute(model, x, method="scorecam", layer=layer, target=target,
                       progress=lambda done, total: seen.append((done, total)))
    assert_same_cam(result.raw, reference_cam("scorecam", model, x, layer, target))
    channels = dict(model.module.named_modules())[layer].conv2.out_channels
    assert seen[-1] == (channels, channels) and [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert result.params == {"batch_size": None}


def test_grad_cam_equals_a_computation_by_hand(resnet):
    model, x = resnet
    target = ranked(model, x, 2)
    kept = {}
    handle = model.module.layer3[1].register_forward_hook(lambda _m, _i, output: kept.update(a=output))
    try:
        logits = model.module(x)
        (gradient,) = torch.autograd.grad(logits[0, target], kept["a"])
    finally:
        handle.remove()
    weights = gradient[0].mean(dim=(1, 2))
    expected = torch.relu((weights[:, None, None] * kept["a"][0]).sum(0)).detach()
    result = attribute(model, x, method="gradcam", layer="layer3.1", target=target)
    torch.testing.assert_close(result.raw, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))
    upsampled = torch.nn.functional.interpolate(expected[None, None], size=(SIDE, SIDE), mode="bilinear")[0, 0]
    torch.testing.assert_close(result.map, upsampled, rtol=1e-4, atol=1e-4 * float(expected.max()))


@pytest.mark.parametrize("method", GRADIENT_CAMS)
@pytest.mark.parametrize("place", [0, 4])
def test_gradient_cams_equal_grad_cam_package_on_squeezenet(squeezenet, method, place):
    model, x = squeezenet
    target = ranked(model, x, place)
    layer = default_layer(model) if place == 0 else "features.9"
    result = attribute(model, x, method=method, layer=layer, target=target)
    assert_same_cam(result.raw, reference_cam(method, model, x, layer, target))


def test_score_cam_equals_grad_cam_package_on_squeezenet(squeezenet):
    """On a layer of 32 channels (a Fire module's squeeze) at 112 px, so the 64 passes stay short."""
    model, x = squeezenet
    small = torch.nn.functional.interpolate(x, size=(112, 112), mode="bilinear", antialias=True)
    layer, target = "features.7.squeeze_activation", ranked(model, small, 1)
    result = attribute(model, small, method="scorecam", layer=layer, target=target, batch_size=16)
    assert result.params == {"batch_size": 16} and result.raw.shape == (13, 13)
    assert_same_cam(result.raw, reference_cam("scorecam", model, small, layer, target))


def test_grad_cam_finds_the_cat_in_the_photo(squeezenet):
    model, x = squeezenet
    result = attribute(model, x, method="gradcam")
    assert model.class_name(result.target) == "Egyptian cat" and result.layer == "classifier.2"
    rows, cols = np.nonzero(result.map.numpy() > 0.5 * float(result.map.max()))
    assert 40 < rows.mean() < 184 and 40 < cols.mean() < 184


def test_score_masks_span_zero_to_one_per_channel():
    activation = torch.tensor([[[0.0, 2.0], [4.0, 8.0]], [[3.0, 3.0], [3.0, 3.0]]])
    masks = score_masks(activation, (3, 3))
    assert masks.shape == (2, 3, 3)
    torch.testing.assert_close(masks[0], torch.tensor([[0.0, 0.125, 0.25], [0.25, 0.4375, 0.625], [0.5, 0.75, 1.0]]))
    assert float(masks[1].abs().max()) == 0.0


def test_default_layers(bundled, resnet):
    assert default_layer(bundled) == "features.pool3"
    assert default_layer(resnet[0]) == "layer4.1"
    result = attribute(bundled, torch.zeros(1, 1, 28, 28), method="layercam", target=3)
    assert result.layer == "features.pool3" and result.raw.shape == (3, 3) and result.map.shape == (28, 28)


def test_default_layer_of_squeezenet(squeezenet):
    assert default_layer(squeezenet[0]) == "classifier.2"


def test_cam_methods_and_parameters():
    assert set(LAYER_METHODS) == {"gradcam", "gradcam++", "scorecam", "layercam"}
    assert parameters("scorecam") == {"batch_size": None}
    assert parameters("gradcam++") == parameters("layercam") == {}


@pytest.mark.parametrize("method", LAYER_METHODS)
def test_errors_leave_no_hooks(bundled, method):
    x = torch.zeros(1, 1, 28, 28)
    with pytest.raises(ValueError, match="target"):
        attribute(bundled, x, method=method, target=10)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        attribute(bundled, x, method=method, layer="nope")
    with pytest.raises(ValueError, match="spatial grid"):
        attribute(bundled, x, method=method, layer="classifier.fc1")
    assert hook_count(bundled.module) == 0


def test_a_failing_pass_leaves_no_hooks(bundled):
    wrong = torch.zeros(1, 3, 28, 28)
    for method, steps in cam.STEPS.items():
        with pytest.raises(RuntimeError):
            list(steps(bundled, wrong, target=0, layer="features.conv3"))
        assert hook_count(bundled.module) == 0, method


def test_score_cam_cancels_and_leaves_no_hooks(bundled):
    x = torch.zeros(1, 1, 28, 28)
    steps = attribute_steps(bundled, x, method="scorecam", layer="features.conv3", batch_size=8)
    first = next(steps)
    assert 0 < first.done <= 8 and first.total == 128
    steps.close()
    assert hook_count(bundled.module) == 0
    calls = []
    with pytest.raises(Cancelled):
        attribute(bundled, x, method="scorecam", layer="features.conv3", batch_size=8,
                  progress=lambda done, total: calls.append(done) or False)
    assert len(calls) == 1 and hook_count(bundled.module) == 0


def test_cams_leave_the_model_unchanged():
    torch.manual_seed(2)
    module = torchvision.models.resnet18().eval()
    module.layer4.train()
    model = zoo_model(module, "resnet18")
    before = {name: value.clone() for name, value in module.state_dict().items()}
    x = torch.randn(1, 3, SCORE_SIDE, SCORE_SIDE)
    for method in LAYER_METHODS:
        result = attribute(model, x, method=method, layer="layer4.1" if method != "scorecam" else "layer1.0")
        assert result.raw.max() > 0
    assert all(torch.equal(before[name], value) for name, value in module.state_dict().items())
    assert all(p.requires_grad and p.grad is None for p in module.parameters())
    assert module.layer4.training and not module.layer3.training
    assert hook_count(module) == 0
