"""Receptive fields through paddings, crops and untraced ops (cnnviz.core.model.receptive via the layer table)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.model import layers, models, zoo


class SameConv(nn.Conv2d):
    """TensorFlow "SAME" convolution: pads inside its own forward, the extra pixel after (bottom/right)."""

    def forward(self, x):
        pads = []
        for axis in (-1, -2):  # F.pad lists the last axis first
            size, kernel, stride = x.shape[axis], self.kernel_size[axis], self.stride[axis]
            total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * self.dilation[axis] + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


SAME_STACK = [(3, 2, 1), (5, 1, 1), (3, 2, 2), (1, 1, 1), (3, 2, 1)]
"""(kernel, stride, dilation) of the SAME convolutions of :func:`same_net`."""


def same_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(*[SameConv(2, 2, k, s, dilation=d) for k, s, d in SAME_STACK])


def analytic_same_fields(input_size):
    """Field (size, jump, start) per axis after each SAME convolution, from the TF padding formula."""
    fields = []
    state = [(1.0, 1.0, 0.0, n) for n in input_size]  # size, jump, start, grid length
    for kernel, stride, dilation in SAME_STACK:
        effective = (kernel - 1) * dilation + 1
        updated = []
        for size, jump, start, length in state:
            out = math.ceil(length / stride)
            before = max((out - 1) * stride + effective - length, 0) // 2
            updated.append((size + (effective - 1) * jump, jump * stride,
                            start + ((effective - 1) / 2 - before) * jump, out))
        state = updated
        fields.append(tuple(tuple(axis[i] for axis in state) for i in range(3)))
    return fields


def gradient_support(net: nn.Module, input_size, unit):
    """(first, last) input row and column reaching ``unit`` (row, col) of the net's output, found with
    all-positive weights so that nothing cancels."""
    for sub in net.modules():
        if isinstance(sub, nn.Conv2d):
            nn.init.constant_(sub.weight, 1.0)
            nn.init.zeros_(sub.bias)
    x = torch.zeros(1, 2, *input_size, requires_grad=True)
    (grad,) = torch.autograd.grad(net(x)[0, 0, unit[0], unit[1]], x)
    rows, cols = grad[0, 0].nonzero(as_tuple=True)
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def test_same_padding_in_forward_gives_the_analytic_fields():
    size = (61, 46)  # odd and even sides: the SAME padding differs per axis
    rows = layers.layer_table(same_net(), input_size=size, in_channels=2)
    traced = [(r.field.size, r.field.jump, r.field.start) for r in rows]
    assert traced == analytic_same_fields(size)
    assert not any(r.field_uncertain for r in rows)
    assert rows[-1].jump == 8 and rows[-1].field.size == (27.0, 27.0) and rows[-1].field.start == (4.0, 5.0)


def test_same_padding_field_is_where_the_gradient_reaches():
    size, unit = (61, 46), (3, 2)
    net = same_net()
    field = layers.layer_table(net, input_size=size, in_channels=2)[-1].field
    support = gradient_support(net, size, unit)
    for axis in range(2):
        centre = field.start[axis] + unit[axis] * field.jump[axis]
        half = (field.size[axis] - 1) / 2
        assert support[axis] == (centre - half, centre + half)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_padding_modes_of_a_conv_give_the_zero_padding_field(mode):
    def net(padding_mode):
        return nn.Sequential(nn.Conv2d(1, 1, 3, 2, padding=1, padding_mode=padding_mode),
                             nn.Conv2d(1, 1, 5, 2, padding=(2, 1), padding_mode=padding_mode))

    zeros = layers.layer_table(net("zeros"), input_size=(20, 20), in_channels=1)
    padded = layers.layer_table(net(mode), input_size=(20, 20), in_channels=1)
    assert [r.field for r in padded] == [r.field for r in zeros]
    assert zeros[-1].field == layers.Field((11.0, 11.0), (4.0, 4.0), (0.0, 2.0))


class Functional(nn.Module):
    """A conv after one functional op ``step`` on the input (a padding, crop or untraced resampling)."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.conv = nn.Conv2d(1, 1, 3, stride=2)

    def forward(self, x):
        return self.conv(self.step(x))


def final_field(step, size=(24, 24)):
    return layers.layer_table(Functional(step), input_size=size, in_channels=1)[-1]


@pytest.mark.parametrize("step, start", [
    (lambda x: F.pad(x, (1, 2, 3, 0)), (-2.0, 0.0)),
    (lambda x: F.pad(x, [2, 2], "constant", 0.5), (1.0, -1.0)),
    (lambda x: F.pad(x, (2, 2, 1, 1), "reflect"), (0.0, -1.0)),
    (lambda x: F.pad(x, pad=(0, 1, 0, 1), mode="replicate"), (1.0, 1.0)),
    (lambda x: F.pad(x, (-1, 0, -2, 0)), (3.0, 2.0)),
    (nn.ZeroPad2d((3, 0, 1, 0)), (0.0, -2.0)),
    (lambda x: x[..., 2:, 1:], (3.0, 2.0)),
    (lambda x: x[:, :, 1:-1, :], (2.0, 1.0)),
    (lambda x: x[0:1, :, 4:][:, :, :, 3:], (5.0, 4.0)),
    (lambda x: x.narrow(2, 3, 10), (4.0, 1.0)),
    (lambda x: torch.narrow(x, -1, -20, 12), (1.0, 5.0)),
])
def test_paddings_and_crops_shift_the_field(step, start):
    row = final_field(step)
    assert (row.field.size, row.field.jump, row.field.start) == ((3.0, 3.0), (2.0, 2.0), start)
    assert not row.field_uncertain


def test_strided_slice_multiplies_the_jump():
    row = final_field(lambda x: x[:, :, 1::2, ::3])
    assert row.field == layers.Field((5.0, 7.0), (4.0, 6.0), (3.0, 3.0))


@pytest.mark.parametrize("step", [
    lambda x: F.pad(x, (1, 1, 1, 1), mode="circular"),
    lambda x: F.interpolate(x, scale_factor=2),
    lambda x: F.conv_transpose2d(x, torch.ones(1, 1, 3, 3), stride=2),
    lambda x: F.conv_transpose2d(x, torch.ones(1, 1, 3, 3), padding=1),  # keeps the grid's size
    lambda x: x.permute(0, 2, 3, 1).reshape(1, 12, 48, 1).permute(0, 3, 1, 2),
    lambda x: x.permute(0, 2, 3, 1).flatten(1, 2).reshape(1, 1, 24, 24),
    lambda x: F.adaptive_avg_pool2d(x, 5),  # 24 -> 5: not a whole factor
    lambda x: torch.cat(x.split(12, dim=2), dim=3),
])
def test_untraced_geometry_is_marked_uncertain(step):
    row = final_field(step)
    assert row.field_uncertain
    cells = layers.table_cells([row])[0]
    assert cells[9] == f"≈{row.receptive_field}" and cells[10] == f"≈{row.jump}"


def test_exact_resamplings_and_swaps_stay_certain():
    pooled = final_field(lambda x: F.adaptive_avg_pool2d(x, 6))  # 24 -> 6: 4×4 windows, stride 4
    assert pooled.field == layers.Field((12.0, 12.0), (8.0, 8.0), (5.5, 5.5))
    swapped = final_field(lambda x: F.pad(x, (0, 0, 2, 0)).transpose(2, 3), size=(20, 24))
    assert swapped.field == layers.Field((3.0, 3.0), (2.0, 2.0), (1.0, -1.0))
    assert layers.table_cells([swapped])[0][9:] == ["3", "2"]
    channels_last = final_field(lambda x: torch.relu(x.permute(0, 2, 3, 1) * 2).permute(0, 3, 1, 2))
    assert channels_last.field == final_field(lambda x: x).field and not channels_last.field_uncertain


def test_shared_mobilenet_v2_same_padding_matches_torchvision(shared_model):
    """The shared MobileNetV2 pads its stride-2 convolutions TF-style (nothing before, one pixel after)
    where torchvision pads one pixel on each side: fields and jumps are equal, and each stride-2
    convolution moves unit (0, 0) one input-side jump further right and down, so start = jump − 1."""
    shared = models.load(shared_model("mobilenet_v2_imagenet"))
    reference = zoo.load_zoo("mobilenet_v2", pretrained=False)
    ours = {r.name: r for r in layers.layer_table(shared)}
    theirs = {r.name: r for r in layers.layer_table(reference)}
    assert ours.keys() == theirs.keys()
    last = ours["features.18.2"]
    assert (last.receptive_field, last.jump) == (491, 32) == (theirs["features.18.2"].receptive_field,
                                                              theirs["features.18.2"].jump)
    for name, row in ours.items():
        assert (row.receptive_field, row.jump, row.field_uncertain) == (
            theirs[name].receptive_field, theirs[name].jump, False), name
        if row.field is not None:
            expected = tuple(s + j - 1 for s, j in zip(theirs[name].field.start, row.field.jump))
            assert row.field.start == expected, name
    jumps = [row.jump for row in ours.values() if row.jump is not None]
    assert jumps == sorted(jumps) and set(jumps) == {2, 4, 8, 16, 32}
