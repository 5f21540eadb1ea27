"""Deconvnet, guided backpropagation and gradient projections, checked against references."""

import copy
import types

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cnnviz.core.model import layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import deconv

captum_attr = pytest.importorskip("captum.attr")


def wrap(module: nn.Module, size=(32, 32), channels=3) -> LoadedModel:
    return LoadedModel(module=module.eval(), name="test", categories=[], input_size=size,
                       mean=(0.0,) * channels, std=(1.0,) * channels, in_channels=channels,
                       resize_size=size[0], source="file")


def plain_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 12, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(12 * 8 * 8, 20), nn.ReLU(), nn.Linear(20, 5),
    )


class Unit(nn.Module):
    """Captum wrapper whose output is one activation of one layer (per batch item)."""

    def __init__(self, module: nn.Module, layer: str, channel: int, position):
        super().__init__()
        self.module, self.layer, self.channel, self.position = module, layer, channel, position

    def forward(self, x):
        store = {}
        target = dict(self.module.named_modules())[self.layer]
        handle = target.register_forward_hook(lambda m, i, o: store.setdefault("a", o))
        try:
            self.module(x)
        finally:
            handle.remove()
        out = store["a"]
        if self.position is None:
            return out[:, self.channel]
        return out[:, self.channel, self.position[0], self.position[1]]


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-12))


@pytest.mark.parametrize("layer", ["4", "7", "10"])
def test_gradient_equals_autograd(layer):
    model = wrap(plain_net())
    x = torch.randn(1, 3, 32, 32)
    projection = deconv.project_unit(model, x, layer=layer, method="gradient")
    reference_input = x.clone().requires_grad_(True)
    unit = Unit(model.module, layer, projection.channel, projection.position)(reference_input)
    (expected,) = torch.autograd.grad(unit.sum(), reference_input)
    assert torch.allclose(projection.image, expected[0], atol=1e-7)
    assert projection.activation == pytest.approx(float(unit.detach()), rel=1e-6)


@pytest.mark.parametrize("method, reference", [("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop")])
@pytest.mark.parametrize("layer, channel, position", [("3", 3, (5, 9)), ("7", None, None), ("10", 7, None)])
def test_matches_captum(method, reference, layer, channel, position):
    model = wrap(plain_net())
    x = torch.randn(1, 3, 32, 32)
    projection = deconv.project_unit(model, x, layer=layer, channel=channel, position=position, method=method)
    unit = Unit(copy.deepcopy(model.module), layer, projection.channel, projection.position)
    expected = getattr(captum_attr, reference)(unit).attribute(x.clone())
    assert projection.image.abs().max() > 0
    assert relative_error(projection.image, expected[0]) < 1e-5


def test_strongest_unit_is_the_default():
    model = wrap(plain_net())
    x = torch.randn(1, 3, 32, 32)
    activation = layers.capture(model, x, layers=["7"])["7"][0]
    projection = deconv.project_unit(model, x, layer="7")
    assert projection.activation == pytest.approx(float(activation.max()))
    assert activation[projection.channel, projection.position[0], projection.position[1]] == activation.max()


def unshared_resnet18(source: nn.Module) -> nn.Module:
    """A copy of a torchvision ResNet18 whose ReLUs are non-inplace and used once each."""
    clone = copy.deepcopy(source)
    clone.relu = nn.ReLU()
    for stage in (clone.layer1, clone.layer2, clone.layer3, clone.layer4):
        for block in stage:
            block.relu_a, block.relu_b = nn.ReLU(), nn.ReLU()
            del block.relu

            def forward(self, x):
                identity = x if self.downsample is None else self.downsample(x)
                out = self.relu_a(self.bn1(self.conv1(x)))
                return self.relu_b(self.bn2(self.conv2(out)) + identity)

            block.forward = types.MethodType(forward, block)
    return clone


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(1)
    module = torchvision.models.resnet18(weights=None).eval()
    # random BN statistics so that every ReLU sees both signs
    for sub in module.modules():
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.uniform_(-0.2, 0.2)
            sub.running_var.uniform_(0.5, 1.5)
    return wrap(module, size=(224, 224))


@pytest.mark.parametrize("method, reference", [("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop")])
def test_resnet18_inplace_shared_relus_equal_unshared_copy(resnet18, method, reference):
    x = torch.randn(1, 3, 224, 224)
    layer = "layer2.1"
    ours = deconv.project_unit(resnet18, x, layer=layer, method=method)
    copy_model = wrap(unshared_resnet18(resnet18.module), size=(224, 224))
    on_copy = deconv.project_unit(copy_model, x, layer=layer, channel=ours.channel, position=ours.position,
                                  method=method)
    assert relative_error(ours.image, on_copy.image) < 1e-5
    unit = Unit(copy_model.module, layer, ours.channel, ours.position)
    expected = getattr(captum_attr, reference)(unit).attribute(x.clone())
    assert relative_error(ours.image, expected[0]) < 1e-4


def structure(module: nn.Module):
    return [(name, type(sub).__name__, getattr(sub, "inplace", None)) for name, sub in module.named_modules()]


def test_model_is_unchanged_after_runs_and_errors(resnet18):
    module = resnet18.module
    before_structure = structure(module)
    before_state = copy.deepcopy(module.state_dict())
    flags = [p.requires_grad for p in module.parameters()]
    x = torch.randn(1, 3, 224, 224)
    before_output = module(x).detach()
    deconv.project(resnet18, x, layer="layer1.0", method="deconvnet")
    deconv.top_units(resnet18, x, layer="layer1.1", k=3, method="guided")
    with pytest.raises(IndexError):
        deconv.project(resnet18, x, layer="layer1.0", channel=10_000)
    with pytest.raises(RuntimeError):
        deconv.project(resnet18, torch.randn(1, 4, 224, 224), layer="layer1.0")
    assert structure(module) == before_structure
    assert hook_count(module) == 0
    assert [p.requires_grad for p in module.parameters()] == flags
    assert all(p.grad is None for p in module.parameters())
    assert all(torch.equal(before_state[k], v) for k, v in module.state_dict().items())
    assert torch.equal(module(x).detach(), before_output)
    assert not module.training


def test_top_units_are_the_strongest_channels_with_boxes(resnet18):
    x = torch.randn(1, 3, 224, 224)
    layer = "layer2.0.conv1"
    activation = layers.capture(resnet18, x, layers=[layer])[layer][0]
    units = deconv.top_units(resnet18, x, layer=layer, k=9)
    peaks = activation.flatten(1).max(dim=1).values
    assert [u.channel for u in units] == peaks.argsort(descending=True)[:9].tolist()
    field = layers.field_of(resnet18, layer)
    for unit in units:
        assert unit.activation == pytest.approx(float(peaks[unit.channel]), rel=1e-5)
        single = deconv.project(resnet18, x, layer=layer, channel=unit.channel, position=unit.position)
        assert relative_error(unit.image, single) < 1e-5
        top, left, bottom, right = unit.box
        centre_row = field.start[0] + unit.position[0] * field.jump[0]
        assert top == max(0, int(centre_row - (field.size[0] - 1) / 2))
        assert bottom - top <= field.size[0] and right - left <= field.size[1]
        assert 0 <= top < bottom <= 224 and 0 <= left < right <= 224


def test_projection_of_the_input_side_stays_inside_the_receptive_field():
    model = wrap(plain_net())
    x = torch.randn(1, 3, 32, 32)
    projection = deconv.project_unit(model, x, layer="4", channel=2, position=(3, 4))
    top, left, bottom, right = projection.box
    outside = projection.image.clone()
    outside[:, top:bottom, left:right] = 0
    assert outside.abs().max() == 0
    assert projection.image[:, top:bottom, left:right].abs().max() > 0


class FunctionalNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 4, 3, padding=1)

    def forward(self, x):
        x = torch.nn.functional.relu(self.conv1(x), inplace=True)
        return torch.relu(self.conv2(x))


def test_functional_relus_are_handled():
    functional = wrap(FunctionalNet(), size=(16, 16))
    as_modules = nn.Sequential(functional.module.conv1, nn.ReLU(), functional.module.conv2, nn.ReLU())
    x = torch.randn(1, 3, 16, 16)
    for method, reference in (("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop")):
        ours = deconv.project_unit(functional, x, layer="conv2", channel=1, position=(8, 8), method=method)
        expected = getattr(captum_attr, reference)(Unit(as_modules, "2", 1, (8, 8))).attribute(x.clone())
        assert relative_error(ours.image, expected[0]) < 1e-5
    assert deconv.unhandled_nonlinearities(functional, x, layer="conv2") == []


def test_unhandled_nonlinearities_are_reported():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Conv2d(4, 2, 3))
    assert deconv.unhandled_nonlinearities(wrap(net, size=(12, 12)), torch.randn(1, 3, 12, 12), layer="2") == ["silu"]


class Gated(nn.Module):
    """conv, ReLU, a squeeze-and-excitation gate (optionally detached: a constant), conv, ReLU."""

    def __init__(self, detached: bool = False):
        super().__init__()
        torch.manual_seed(3)
        self.detached = detached
        self.conv1, self.relu1 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()
        self.squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 1),
                                     nn.Sigmoid())
        self.conv2, self.relu2 = nn.Conv2d(8, 6, 3, padding=1), nn.ReLU()

    def forward(self, x):
        y = self.relu1(self.conv1(x))
        gate = self.squeeze(y)
        return self.relu2(self.conv2(y * (gate.detach() if self.detached else gate)))


@pytest.mark.parametrize("method, reference", [("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop")])
def test_channel_gates_are_constants_for_the_relu_rules(method, reference):
    model = wrap(Gated(), size=(12, 12))
    x = torch.randn(1, 3, 12, 12)
    ours = deconv.project_unit(model, x, layer="relu2", method=method)
    assert ours.unhandled == () and ours.warning == ""
    constant_gate = Gated(detached=True).eval()
    expected = getattr(captum_attr, reference)(Unit(constant_gate, "relu2", ours.channel, ours.position)).attribute(x)
    assert relative_error(ours.image, expected[0]) < 1e-5


def test_the_gradient_goes_through_channel_gates():
    model = wrap(Gated(), size=(12, 12))
    x = torch.randn(1, 3, 12, 12)
    ours = deconv.project_unit(model, x, layer="relu2", method="gradient")
    expected = {}
    for detached in (False, True):
        source = x.clone().requires_grad_(True)
        unit = Unit(Gated(detached).eval(), "relu2", ours.channel, ours.position)(source)
        (expected[detached],) = torch.autograd.grad(unit.sum(), source)
    assert relative_error(ours.image, expected[False][0]) < 1e-5
    assert relative_error(ours.image, expected[True][0]) > 1e-3


def test_display_scalings():
    image = torch.tensor([[[-2.0, 0.0], [1.0, 2.0]]])
    assert deconv.to_display(image, "symmetric")[:, :, 0].tolist() == [[0.0, 0.5], [0.75, 1.0]]
    assert deconv.to_display(image, "abs")[:, :, 0].tolist() == [[1.0, 0.0], [0.5, 1.0]]


def test_crop_array_takes_the_box():
    array = np.arange(5 * 6 * 3).reshape(5, 6, 3)
    np.testing.assert_array_equal(deconv.crop_array(array, (1, 2, 4, 5)), array[1:4, 2:5])
    assert deconv.crop_array(array[:, :, 0], (0, 0, 2, 3)).tolist() == [[0, 3, 6], [18, 21, 24]]


def test_field_tiles_place_clipped_crops_against_their_border():
    full = np.ones((3, 3))
    clipped_top_left = np.full((2, 1), 2.0)  # field (-1, -2, 2, 1) clipped to (0, 0, 2, 1)
    clipped_bottom_right = np.full((1, 2), 3.0)  # field clipped at the bottom and right of a 10 × 10 input
    tiles = deconv.field_tiles([full, clipped_top_left, clipped_bottom_right],
                               [(4, 4, 7, 7), (0, 0, 2, 1), (9, 8, 10, 10)], (10, 10))
    assert tiles.shape == (3, 3, 3) and tiles.dtype == np.float32
    np.testing.assert_array_equal(tiles[0], full)
    nan = np.nan
    np.testing.assert_array_equal(tiles[1], [[nan, nan, nan], [nan, nan, 2], [nan, nan, 2]])
    np.testing.assert_array_equal(tiles[2], [[3, 3, nan], [nan, nan, nan], [nan, nan, nan]])


def test_field_tiles_keep_colour_channels():
    tiles = deconv.field_tiles([np.zeros((2, 2, 3)), np.ones((1, 2, 3))], [(0, 0, 2, 2), (0, 0, 1, 2)], (4, 4))
    assert tiles.shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(tiles[1, 1], np.ones((2, 3)))
    assert np.isnan(tiles[1, 0]).all()
