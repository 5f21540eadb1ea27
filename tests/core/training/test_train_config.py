"""Training settings: checked on construction, built from command-line texts."""

import math

import pytest

from cnnviz.core import settings
from cnnviz.core.training import TrainConfig
from cnnviz.core.training.augment import parse


@pytest.mark.parametrize("changes, words", [
    ({"lr": 0.0}, "lr: the learning rate must be a finite number above 0"),
    ({"lr": math.inf}, "lr:"),
    ({"augment": ("blur",)}, "augment: 'blur' is not an augmentation"),
    ({"augment": ("rotate:400",)}, "outside 0…180"),
    ({"augment": ("hflip:3",)}, "hflip takes no value"),
    ({"optimizer": "adam", "nesterov": True}, "nesterov: needs optimizer sgd"),
    ({"mode": "probe", "unfreeze_from": "features"}, "unfreeze_from: a probe trains the head only"),
    ({"mode": "rl"}, "mode: 'rl' is not one of probe, finetune, scratch"),
])
def test_settings_that_cannot_work_are_refused_with_the_field_named(changes, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**changes)


def test_command_line_texts_give_the_typed_config():
    config = settings.from_texts(TrainConfig, {"lr": "0.001", "augment": "hflip,rotate:10", "early_stop": "3",
                                               "mode": "probe"})
    assert (config.lr, config.augment, config.early_stop, config.mode) == (0.001, ("hflip", "rotate:10"), 3, "probe")
    assert parse("crop:0.5") == ("crop", 0.5) and parse("hflip") == ("hflip", 0.0)
