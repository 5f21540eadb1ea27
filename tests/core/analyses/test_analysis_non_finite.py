"""Activations, deconv and top9 on a model whose maps are NaN for an image: each refuses with the message the
panes show (:func:`cnnviz.analyses.finite.non_finite_message`); on an image where the model is finite they run."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.analyses import activations, deconv, top9
from cnnviz.analyses.base import Source, compute
from cnnviz.analyses.finite import check_finite, is_finite, non_finite_message
from cnnviz.core.model.loaded_model import wrap
from cnnviz.core.per_image.layer_choices import layer_choices


class NanOnBright(nn.Module):
    """Conv → ReLU → pool → linear; the ReLU's maps (and so the class scores) are NaN for any input above 0.5."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.relu = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.relu(self.conv(x) * torch.sqrt(0.5 - x.amax()))
        return self.fc(self.pool(maps).flatten(1))


@pytest.fixture(scope="module")
def model():
    return wrap(NanOnBright().eval(), input_size=(8, 8), name="nan-on-bright")


BRIGHT, DARK = torch.full((1, 1, 8, 8), 0.9), torch.linspace(-1, 0.4, 64).reshape(1, 1, 8, 8)


def test_the_model_is_nan_only_on_bright_inputs(model):
    with torch.no_grad():
        assert torch.isnan(model.module(BRIGHT)).all() and torch.isfinite(model.module(DARK)).all()


@pytest.mark.parametrize(("analysis", "settings"), [
    (activations, activations.Settings(layer="relu")),
    (deconv, deconv.Settings(layer="relu")),
    (top9, top9.Settings(layer="relu")),
])
def test_nan_maps_are_refused_with_the_panes_message(model, analysis, settings):
    message = non_finite_message(model, "relu")
    assert message == ("nan-on-bright gives non-finite values (NaN or inf) at relu for this image, so its maps "
                       "would be meaningless")
    with pytest.raises(ValueError) as raised:
        compute(analysis.run(model, Source("bright", BRIGHT), settings))
    assert str(raised.value) == message
    result = compute(analysis.run(model, Source("dark", DARK), settings))
    assert all(np.isfinite(array).all() for array in result.arrays().values() if array.dtype.kind == "f")


def test_of_output_refuses_the_cached_nan_output(model):
    choice = next(c for c in layer_choices(model) if c.name == "relu")
    values = torch.full((4, 8, 8), float("nan"))
    with pytest.raises(ValueError, match=r"at relu for this image"):
        activations.of_output(model, Source("bright", BRIGHT), activations.Settings(layer="relu"), choice, values)


def test_is_finite_reads_tensors_arrays_and_numbers(model):
    assert is_finite(torch.ones(3), np.zeros(2), 1.5) and is_finite()
    assert not is_finite(torch.ones(3), float("inf")) and not is_finite(np.array([0.0, np.nan]))
    check_finite(model, "conv", 0.0, torch.zeros(2))
    with pytest.raises(ValueError, match=r"at conv for"):
        check_finite(model, "conv", torch.tensor([-np.inf]))
