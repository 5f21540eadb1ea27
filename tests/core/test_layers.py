"""Layer table (shapes, parameter counts, receptive fields) and activation capture."""

import copy

import pytest
import torch
from torch import nn

from cnnviz.core.model import layers, models
from cnnviz.core.model.hooks import hook_count


def small_net() -> nn.Sequential:
    """The issue's reference network: 3×32×32 input, three conv/ReLU/pool stages, two FC layers."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 64), nn.ReLU(), nn.Linear(64, 10),
    )


@pytest.fixture(scope="module")
def alexnet():
    return models.load_zoo("alexnet", pretrained=False)


def test_small_net_shapes_and_totals():
    rows = layers.layer_table(small_net(), input_size=(32, 32), in_channels=3)
    assert [r.output_shape for r in rows] == [
        (32, 32, 32), (32, 32, 32), (32, 16, 16), (64, 16, 16), (64, 16, 16), (64, 8, 8),
        (128, 8, 8), (128, 8, 8), (128, 4, 4), (2048,), (64,), (64,), (10,)]
    assert layers.totals(rows)["params"] == 390_410
    conv = rows[0]
    assert (conv.weights, conv.biases, conv.params) == (3 * 32 * 25, 32, 3 * 32 * 25 + 32)
    assert (conv.kernel, conv.stride, conv.padding) == ((5, 5), (1, 1), (2, 2))
    assert rows[9].receptive_field is None and rows[9].kernel is None


def test_alexnet_totals_and_receptive_fields(alexnet):
    rows = {r.name: r for r in layers.layer_table(alexnet)}
    assert layers.totals(list(rows.values()))["params"] == 61_100_840
    expected = {"features.0": 11, "features.2": 19, "features.3": 51, "features.5": 67,
                "features.6": 99, "features.8": 131, "features.10": 163, "features.12": 195}
    assert {name: rows[name].receptive_field for name in expected} == expected
    assert [rows[n].jump for n in ("features.0", "features.2", "features.5", "features.12")] == [4, 8, 16, 32]
    assert rows["features.0"].output_shape == (64, 55, 55)
    assert rows["classifier.6"].output_shape == (1000,)


def test_resnet18_total_and_branching_fields():
    model = models.load_zoo("resnet18", pretrained=False)
    rows = {r.name: r for r in layers.layer_table(model)}
    assert layers.totals(list(rows.values()))["params"] == 11_689_512
    assert rows["conv1"].receptive_field == 7 and rows["maxpool"].receptive_field == 11
    # the residual addition keeps the larger field of its two branches
    assert rows["layer1.0.relu"].calls == 2
    assert rows["layer1.0.relu"].receptive_field == rows["layer1.0.bn2"].receptive_field == 27
    assert rows["layer4.1.bn2"].receptive_field == 435


def test_uncalled_auxiliary_layers_are_listed_last():
    net = torchvision_googlenet_with_aux()
    rows = layers.layer_table(net, input_size=(224, 224), in_channels=3)
    assert layers.totals(rows)["params"] == sum(p.numel() for p in net.parameters())
    unused = [r for r in rows if r.output_shape is None]
    assert unused and all(r.name.startswith("aux") for r in unused)
    assert rows[-len(unused):] == unused


def torchvision_googlenet_with_aux():
    import torchvision

    return torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False).eval()


def test_field_box_is_inside_the_input(alexnet):
    field = layers.field_of(alexnet, "features.3")
    assert field.start == (7.0, 7.0)  # conv1 centre 3, pool1 +4, conv2 +0
    assert field.box((0, 0), (224, 224)) == (0, 0, 33, 33)  # 7 ± 25, clipped
    top, left, bottom, right = field.box((13, 13), (224, 224))
    assert bottom - top == right - left == 51
    assert layers.field_of(alexnet, "classifier.6") is None


def test_capture_shapes_and_copies(alexnet):
    x = torch.randn(2, 3, 224, 224)
    before = copy.deepcopy(alexnet.module.state_dict())
    outputs = layers.capture(alexnet, x, layers=["features.0", "features.1", "classifier.6"])
    assert outputs["features.0"].shape == (2, 64, 55, 55)
    assert outputs["classifier.6"].shape == (2, 1000)
    # features.1 is an in-place ReLU: the captured conv output keeps its negative values
    assert (outputs["features.0"] < 0).any()
    assert torch.equal(outputs["features.1"], outputs["features.0"].clamp(min=0))
    assert torch.allclose(outputs["classifier.6"], alexnet.logits(x), atol=1e-5)
    assert hook_count(alexnet.module) == 0
    assert all(torch.equal(before[k], v) for k, v in alexnet.module.state_dict().items())


def test_capture_stop_early_gives_the_same_values(alexnet):
    x = torch.randn(1, 3, 224, 224)
    full = layers.capture(alexnet, x, layers=["features.3"])
    early = layers.capture(alexnet, x, layers=["features.3"], stop_early=True)
    assert torch.equal(full["features.3"], early["features.3"])
    assert hook_count(alexnet.module) == 0


def test_capture_removes_hooks_after_an_error(alexnet):
    with pytest.raises(RuntimeError):
        layers.capture(alexnet, torch.randn(1, 5, 224, 224), layers=["features.0"])
    assert hook_count(alexnet.module) == 0
    with pytest.raises(KeyError, match="no layer"):
        layers.capture(alexnet, torch.randn(1, 3, 224, 224), layers=["features.99"])


def test_layer_table_leaves_the_model_unchanged(alexnet):
    before = copy.deepcopy(alexnet.module.state_dict())
    layers.layer_table(alexnet)
    assert hook_count(alexnet.module) == 0
    assert not alexnet.module.training
    assert all(torch.equal(before[k], v) for k, v in alexnet.module.state_dict().items())


def test_functional_relu_and_concatenation_keep_fields():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3, padding=1)
            self.b = nn.Conv2d(1, 2, 5, padding=2)
            self.merge = nn.Conv2d(4, 1, 1)

        def forward(self, x):
            return self.merge(torch.relu(torch.cat([self.a(x), self.b(x)], 1)))

    rows = {r.name: r for r in layers.layer_table(TwoBranches(), input_size=(16, 16), in_channels=1)}
    assert (rows["a"].receptive_field, rows["b"].receptive_field, rows["merge"].receptive_field) == (3, 5, 5)


def test_asymmetric_branches_give_the_union_of_their_fields():
    class Crossed(nn.Module):
        def __init__(self):
            super().__init__()
            self.wide = nn.Conv2d(1, 2, (1, 7), padding=(0, 3))
            self.tall = nn.Conv2d(1, 2, (7, 1), padding=(3, 0))

        def forward(self, x):
            return torch.cat([self.wide(x), self.tall(x)], 1)

    traced = layers.trace(Crossed(), input_size=(16, 16), in_channels=1)
    assert traced["wide"].field.size == (1, 7) and traced["tall"].field.size == (7, 1)
    rows = layers.layer_table(nn.Sequential(Crossed(), nn.Conv2d(4, 1, 3, padding=1)), input_size=(16, 16),
                              in_channels=1)
    assert rows[-1].field.size == (9, 9) and rows[-1].field.start == (0, 0)


def test_permuted_channels_last_layers_and_channel_gates_keep_the_field():
    class Block(nn.Module):
        """A 3×3 conv, a ConvNeXt-like channels-last MLP and a squeeze-and-excitation gate."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.norm, self.fc, self.act = nn.LayerNorm(4), nn.Linear(4, 6), nn.GELU()
            self.squeeze, self.gate = nn.Conv2d(6, 6, 1), nn.Sigmoid()
            self.out = nn.Conv2d(6, 2, 3, padding=1)

        def forward(self, x):
            y = self.act(self.fc(self.norm(self.conv(x).permute(0, 2, 3, 1)))).permute(0, 3, 1, 2)
            y = y * self.gate(self.squeeze(y.mean((2, 3), keepdim=True)))
            return self.out(y)

    traced = layers.trace(Block(), input_size=(10, 12), in_channels=3)
    assert traced["fc"].output_shape == (10, 12, 6) and traced["fc"].channels_last
    assert not traced["conv"].channels_last and not traced["squeeze"].channels_last
    assert traced["norm"].field == traced["fc"].field == traced["act"].field == traced["conv"].field
    assert traced["conv"].field.size == (3, 3)
    assert traced["out"].field.size == (5, 5) and traced["out"].field.jump == (1, 1)


def test_csv_and_markdown_exports(alexnet):
    rows = layers.layer_table(alexnet)
    csv_text = layers.to_csv(rows)
    lines = csv_text.strip().split("\n")
    assert lines[0].startswith("Layer,Type,Output shape")
    assert lines[1].startswith("features.0,Conv2d,64×55×55,23232,64,23296,11,4,2,11,4")
    assert lines[-1].startswith("Total,,,61090496,10344,61100840")
    markdown = layers.to_markdown(rows)
    assert markdown.count("\n") == len(rows) + 3
    assert "| Total |" in markdown
