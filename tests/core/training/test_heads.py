"""The head is found in the zoo's architectures and in a user's model, and replaced by a layer of the same
kind and input for the new classes."""

import pytest
import torch
from torch import nn

from cnnviz.core import models, wrap
from cnnviz.core.model import heads


@pytest.mark.parametrize("arch, head", [("resnet18", "fc"), ("alexnet", "classifier.6"),
                                        ("squeezenet1_0", "classifier.1"), ("mobilenet_v2", "classifier.1")])
def test_the_head_of_zoo_architectures_is_found_and_replaced(arch, head):
    model = models.load_zoo(arch, pretrained=False)
    assert heads.head_name(model) == head
    old = model.module.get_submodule(head)
    new = heads.replace_head(model.module, head, 7, "zeros")
    assert type(new) is type(old) and model.module.get_submodule(head) is new
    with torch.no_grad():
        assert model.module.eval()(model.dummy_input()).shape == (1, 7)


def test_a_model_without_a_linear_or_1x1_head_says_to_name_one():
    model = wrap(nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()), input_size=8, name="pooled")
    with pytest.raises(ValueError, match=r"found no nn\.Linear or 1×1 nn\.Conv2d"):
        heads.head_name(model)
