"""A private copy of a model for a dataset job: its size counted by hand, whether it fits, and that it
computes what the model does without sharing parameters or hooks with it."""

import torch
from torch import nn

from cnnviz.core import wrap
from cnnviz.core.model.model_copy import COPY_SHARE, copy_fits, free_bytes, model_bytes, model_copy


def small_model():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    return wrap(module, input_size=(8, 8), mean=(0.5,), std=(0.5,), categories=["a", "b", "c"])


def test_model_bytes_counts_parameters_and_buffers():
    model = small_model()
    # conv 4·1·3·3 + 4, batch norm 4 + 4 weights and 4 + 4 running stats + 1 count (int64), linear 3·144 + 3
    floats = 36 + 4 + 8 + 8 + 432 + 3
    assert model_bytes(model) == floats * 4 + 8


def test_copy_fits_within_a_quarter_of_the_free_memory():
    model = small_model()
    size = model_bytes(model)
    assert copy_fits(model, available=int(size / COPY_SHARE))
    assert not copy_fits(model, available=int(size / COPY_SHARE) - 1)
    assert free_bytes(torch.device("cpu")) > 0
    assert free_bytes(torch.device("meta")) is None


def test_the_copy_computes_the_same_and_shares_nothing_that_changes():
    model = small_model()
    x = torch.randn(2, 1, 8, 8)
    copied = model_copy(model)
    assert copied.module is not model.module and copied.categories == model.categories
    with torch.no_grad():
        assert torch.equal(copied.module.eval()(x), model.module.eval()(x))
        next(copied.module.parameters()).add_(1.0)
        assert not torch.equal(copied.module(x), model.module(x))
    seen = []
    handle = copied.module[0].register_forward_hook(lambda *_: seen.append(1))
    try:
        with torch.no_grad():
            model.module(x)
    finally:
        handle.remove()
    assert seen == [] and not model.module[0]._forward_hooks
