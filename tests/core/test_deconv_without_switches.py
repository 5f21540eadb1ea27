"""Deconvnet projections of networks without max pooling (MobileNetV2: ReLU6, depthwise convolutions,
BatchNorm) are the same for every image: the method's true output, checked against two independent
implementations, and explained by :attr:`Projection.note`."""

import copy

import pytest
import torch
from PIL import Image
from torch import nn

from cnnviz.core.model import models, zoo
from cnnviz.core.per_image import deconv

captum_attr = pytest.importorskip("captum.attr")
skimage_data = pytest.importorskip("skimage.data")

LAYER = "features.14"
"""A deep MobileNetV2 block (stride 32 side, field 299 px): its projections cover most of the image."""


@pytest.fixture(scope="module")
def torchvision_mobilenet():
    torch.manual_seed(2)
    model = zoo.load_zoo("mobilenet_v2", pretrained=False)
    for sub in model.module.modules():  # random statistics so that every clamp sees both sides
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.uniform_(-0.5, 0.5)
            sub.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def photos():
    return [Image.fromarray(skimage_data.coffee()), Image.fromarray(skimage_data.astronaut())]


def hooked_deconvnet(module: nn.Module, x: torch.Tensor, layer: str, channel: int, position) -> torch.Tensor:
    """Deconvnet by module hooks on a copy: every ReLU/ReLU6 passes relu(incoming signal) backwards."""
    clone = copy.deepcopy(module).eval()
    for sub in clone.modules():
        if isinstance(sub, (nn.ReLU, nn.ReLU6)):
            sub.inplace = False
            sub.register_full_backward_hook(lambda _m, _grad_in, grad_out: (grad_out[0].clamp(min=0),))
    store = {}
    dict(clone.named_modules())[layer].register_forward_hook(lambda _m, _i, out: store.setdefault("out", out))
    source = x.clone().requires_grad_(True)
    clone(source)
    (grad,) = torch.autograd.grad(store["out"][0, channel, position[0], position[1]], source)
    return grad[0]


class Unit(nn.Module):
    """Captum wrapper: one activation of one layer per batch item."""

    def __init__(self, module: nn.Module, layer: str, channel: int, position):
        super().__init__()
        self.module, self.layer, self.channel, self.position = module, layer, channel, position

    def forward(self, x):
        store = {}
        handle = dict(self.module.named_modules())[self.layer].register_forward_hook(
            lambda _m, _i, out: store.setdefault("out", out))
        try:
            self.module(x)
        finally:
            handle.remove()
        return store["out"][:, self.channel, self.position[0], self.position[1]]


def relu_copy(module: nn.Module) -> nn.Module:
    """A copy whose ReLU6 clamps are plain ReLUs (captum's Deconvolution hooks only nn.ReLU)."""
    clone = copy.deepcopy(module)
    for parent in clone.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, nn.ReLU())
    return clone


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-12))


def shared_mobilenet(shared_model):
    return models.load(shared_model("mobilenet_v2_imagenet"))


def test_mobilenet_deconvnet_equals_hooks_and_captum(torchvision_mobilenet, photos):
    model = torchvision_mobilenet
    x = model.preprocess(photos[0])
    ours = deconv.project_unit(model, x, layer=LAYER, method="deconvnet")
    assert ours.image.abs().max() > 0
    hooked = hooked_deconvnet(model.module, x, LAYER, ours.channel, ours.position)
    assert relative_error(ours.image, hooked) < 1e-5
    # a different forward pass (ReLU instead of ReLU6) gives the same deconvnet: its backward ignores the forward
    unit = Unit(relu_copy(model.module).eval(), LAYER, ours.channel, ours.position)
    expected = captum_attr.Deconvolution(unit).attribute(x.clone())
    assert relative_error(ours.image, expected[0]) < 1e-5


def test_shared_mobilenet_deconvnet_equals_hooks(shared_model, photos):
    model = shared_mobilenet(shared_model)
    x = model.preprocess(photos[0])
    ours = deconv.project_unit(model, x, layer=LAYER, method="deconvnet")
    hooked = hooked_deconvnet(model.module, x, LAYER, ours.channel, ours.position)
    assert relative_error(ours.image, hooked) < 1e-5
    assert ours.image_independent and ours.note


def projections_on(model, photos, layer, method):
    """The projections of one unit (the strongest on the first photo) on every photo and on noise."""
    inputs = [model.preprocess(photo) for photo in photos] + [torch.randn(1, 3, *model.input_size)]
    first = deconv.project_unit(model, inputs[0], layer=layer, method=method)
    return [first] + [deconv.project_unit(model, x, layer=layer, channel=first.channel, position=first.position,
                                          method=method) for x in inputs[1:]]


def test_mobilenet_deconvnet_is_the_same_for_every_image(torchvision_mobilenet, photos):
    first, *others = projections_on(torchvision_mobilenet, photos, LAYER, "deconvnet")
    assert all(relative_error(other.image, first.image) < 1e-5 for other in others)
    assert all(p.image_independent for p in [first, *others])
    guided_first, *guided_others = projections_on(torchvision_mobilenet, photos, LAYER, "guided")
    assert all(relative_error(other.image, guided_first.image) > 0.1 for other in guided_others)
    assert not guided_first.image_independent and guided_first.note == ""


def test_alexnet_deconvnet_follows_the_image_through_its_switches(photos):
    model = zoo.load_zoo("alexnet", pretrained=False)
    first, *others = projections_on(model, photos, "features.8", "deconvnet")
    assert all(relative_error(other.image, first.image) > 0.1 for other in others)
    assert not any(p.image_independent or p.note for p in [first, *others])
    # before the first max pooling AlexNet too has nothing to route by
    assert deconv.project_unit(model, model.preprocess(photos[0]), layer="features.1").image_independent


def test_note_explains_the_fixed_projection(torchvision_mobilenet, photos, bundled, boot):
    x = torchvision_mobilenet.preprocess(photos[0])
    units = deconv.top_units(torchvision_mobilenet, x, layer=LAYER, k=3)
    assert all(u.image_independent for u in units)
    note = units[0].note
    assert "same for every image" in note and "max pooling" in note and LAYER in note
    assert units[0].warning == ""
    assert not deconv.project_unit(torchvision_mobilenet, x, layer=LAYER, method="gradient").image_independent
    for layer in ("features.relu2", "features.relu3", "classifier.fc2"):
        assert deconv.project_unit(bundled, boot, layer=layer).note == ""


def graph_of(function, *shapes):
    inputs = [torch.randn(*shape, requires_grad=True) for shape in shapes]
    return deconv.backward_ignores_input(function(*inputs))


def test_backward_ignores_input_rules():
    weight = torch.randn(4, 3, 3, 3)
    assert graph_of(lambda x: torch.nn.functional.conv2d(x, weight).mean((2, 3)) * 2.0 + 1, (1, 3, 8, 8))
    assert graph_of(lambda x: torch.nn.functional.batch_norm(x, torch.zeros(3), torch.ones(3)), (2, 3, 4, 4))
    assert not graph_of(lambda x: torch.nn.functional.batch_norm(x, None, None, training=True), (2, 3, 4, 4))
    assert not graph_of(lambda x: x * x, (2, 3))
    assert not graph_of(lambda x: 1.0 / x, (2, 3))
    assert not graph_of(lambda x: torch.nn.functional.max_pool2d(x, 2), (1, 1, 4, 4))
    assert not graph_of(lambda x: torch.nn.functional.layer_norm(x, (3,)), (2, 3))
    assert not graph_of(torch.relu, (2, 3))  # outside the deconvnet rules a ReLU reads its forward mask
    for method, fixed in (("deconvnet", True), ("guided", False)):
        with deconv.relu_rules(method):
            assert graph_of(lambda x: torch.relu(x * 3.0), (2, 3)) is fixed
