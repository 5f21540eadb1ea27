"""core.wrap on a plain nn.Module, and every analysis leaving that module as it found it."""

import copy

import pytest
import torch
from torch import nn

from cnnviz.core.model import layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.loaded_model import wrap
from cnnviz.core.model.models import IMAGENET_MEAN, IMAGENET_STD
from cnnviz.core.per_image import deconv, dream, filters, invariance, occlusion


class Small(nn.Module):
    """conv-BN-ReLU-pool-dropout-linear on 3×16×16 inputs, 5 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(6 * 8 * 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.pool(self.relu(self.bn(self.conv(x)))).flatten(1)))


def training_net() -> Small:
    """A Small net in training mode whose BN statistics differ from the defaults, with one frozen
    parameter and one submodule already in eval mode (so the flags to restore are mixed)."""
    torch.manual_seed(0)
    net = Small()
    net.bn.running_mean.uniform_(-0.5, 0.5)
    net.bn.running_var.uniform_(0.5, 2.0)
    net.fc.bias.requires_grad_(False)
    net.train()
    net.relu.eval()
    return net


def snapshot(module: nn.Module) -> dict:
    return {
        "training": [(name, sub.training) for name, sub in module.named_modules()],
        "requires_grad": [(name, p.requires_grad) for name, p in module.named_parameters()],
        "hooks": hook_count(module),
        "state": {k: v.clone() for k, v in module.state_dict().items()},
    }


def assert_unchanged(module: nn.Module, before: dict) -> None:
    after = snapshot(module)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["hooks"] == before["hooks"] == 0
    assert after["state"].keys() == before["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key
    assert all(p.grad is None for p in module.parameters())


@pytest.fixture
def setup():
    net = training_net()
    reference = copy.deepcopy(net).eval()
    torch.manual_seed(1)
    x = torch.randn(1, 3, 16, 16)
    return net, wrap(net, input_size=(16, 16)), reference, x, snapshot(net)


def pooled(reference: Small, x: torch.Tensor) -> torch.Tensor:
    return reference.pool(reference.relu(reference.bn(reference.conv(x))))


def test_wrap_defaults_and_the_module_untouched():
    net = training_net()
    before = snapshot(net)
    model = wrap(net)
    assert model.module is net
    assert (model.in_channels, model.input_size, model.resize_size) == (3, (224, 224), 256)
    assert (model.mean, model.std) == (IMAGENET_MEAN, IMAGENET_STD)
    assert model.categories == [] and model.class_name(3) == "class 3" and model.name == "Small"
    assert model.predict(torch.zeros(1, 3, 16, 16), k=1)[0][1].startswith("class ")
    assert_unchanged(net, before)


def test_wrap_reads_the_channels_of_the_first_conv():
    grey = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))
    model = wrap(grey, input_size=28, categories=["a", "b"])
    assert (model.in_channels, model.input_size, model.resize_size) == (1, (28, 28), 28)
    assert (model.mean, model.std) == ((0.0,), (1.0,))
    assert model.class_name(1) == "b" and model.class_name(2) == "class 2"
    two = wrap(nn.Sequential(nn.Conv2d(2, 4, 3)))
    assert (two.mean, two.std) == ((0.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match=r"no nn\.Conv2d.*in_channels="):
        wrap(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    assert wrap(nn.Linear(4, 2), in_channels=4).in_channels == 4
    with pytest.raises(ValueError, match="mean needs 1 values"):
        wrap(grey, mean=(0.5, 0.5, 0.5))


def test_layer_table_capture_filters_and_predict(setup):
    net, model, reference, x, before = setup
    rows = {row.name: row for row in layers.layer_table(model)}
    assert rows["conv"].output_shape == (6, 16, 16) and rows["pool"].output_shape == (6, 8, 8)
    assert rows["fc"].output_shape == (5,) and rows["pool"].receptive_field == 4
    captured = layers.capture(model, x, layers=["relu", "fc"])
    with torch.no_grad():
        assert torch.allclose(captured["relu"], reference.relu(reference.bn(reference.conv(x))), atol=1e-6)
        expected = torch.softmax(reference(x), dim=1)[0]
    assert torch.allclose(captured["fc"], reference(x).detach(), atol=1e-6)
    assert torch.equal(filters.weights(model, "conv"), net.conv.weight.detach())
    top = model.predict(x, k=5)
    assert [index for index, _, _ in top] == expected.argsort(descending=True).tolist()
    assert [p for _, _, p in top] == pytest.approx(expected.sort(descending=True).values.tolist(), abs=1e-6)
    assert_unchanged(net, before)


def test_projections(setup):
    net, model, reference, x, before = setup
    projection = deconv.project_unit(model, x, layer="pool", channel=2, position=(3, 4), method="gradient")
    source = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(pooled(reference, source)[0, 2, 3, 4], source)
    assert projection.image.shape == (3, 16, 16)
    assert torch.allclose(projection.image, expected[0], atol=1e-6)
    assert projection.box == (5, 7, 9, 11) and projection.unhandled == () and projection.warning == ""
    units = deconv.top_units(model, x, layer="pool", k=3)
    with torch.no_grad():
        peaks = pooled(reference, x)[0].flatten(1).max(dim=1).values
    assert [u.channel for u in units] == peaks.argsort(descending=True)[:3].tolist()
    assert [u.activation for u in units] == pytest.approx(peaks.sort(descending=True).values[:3].tolist())
    assert all(u.image.shape == (3, 16, 16) for u in units)
    assert_unchanged(net, before)


def test_occlusion_and_invariance(setup):
    net, model, reference, x, before = setup
    result = occlusion.occlude(model, x, window=8, stride=8, layer="relu")
    with torch.no_grad():
        probs = torch.softmax(reference(x), dim=1)[0]
        hidden = x.clone()
        hidden[..., 8:16, 0:8] = 0
        occluded = torch.softmax(reference(hidden), dim=1)[0]
    assert result.prob.shape == (2, 2) and result.target == int(probs.argmax())
    assert result.baseline_prob == pytest.approx(float(probs[result.target]), abs=1e-6)
    assert result.prob[1, 0] == pytest.approx(float(occluded[result.target]), abs=1e-6)
    curves = invariance.curves(model, x, kind="rotation", values=[0, 90], layers=["pool"])
    with torch.no_grad():
        turned = torch.softmax(reference(torch.rot90(x, 1, dims=(-2, -1))), dim=1)[0]
    assert curves.distance["pool"][0] == pytest.approx(0.0, abs=1e-6)
    assert curves.prob[1] == pytest.approx(float(turned[curves.target]), abs=1e-6)
    assert_unchanged(net, before)


def test_dream(setup):
    net, model, reference, x, before = setup
    cfg = dream.DreamConfig(layer="relu", iterations=4, octaves=1, jitter=0, prob_every=0)
    final = dream.dream(model, x, config=cfg)
    assert final.shape == x.shape and torch.isfinite(final).all()
    with torch.no_grad():
        def energy(image: torch.Tensor) -> float:
            return float(reference.relu(reference.bn(reference.conv(image))).pow(2).sum())

        assert energy(final) > energy(x)
    assert_unchanged(net, before)
