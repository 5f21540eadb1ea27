"""The two tables of the course reports, reproduced on small real data (Fashion-MNIST):

- two models side by side, log-loss / top-1 / top-3 on train, validation and test (the bundled network
  fine-tuned, and a user's ``.py`` network trained from scratch);
- one user ``.py`` network trained with ReLU and with Tanh, their histories overlaid epoch by epoch.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnviz.core import models, training
from cnnviz.core.training import TrainConfig

USER_MODEL = '''
from torch import nn

CATEGORIES = ["class %d" % i for i in range(10)]
MEAN, STD = (0.286,), (0.353,)
INPUT_SIZE = (28, 28)
IN_CHANNELS = 1


def build():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.{act}(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.{act}(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
'''
FAST = {"batch_size": 50, "workers": 0}


def user_model(folder, activation):
    path = folder / f"small_{activation.lower()}.py"
    path.write_text(USER_MODEL.replace("{act}", activation), encoding="utf-8")
    return models.load(str(path))


def reference_scores(model, dataset):
    """Log-loss, top-1 and top-3 by plain torch, one image at a time."""
    losses, top1, top3 = [], 0, 0
    with torch.no_grad():
        for i in range(len(dataset)):
            logits = model.module(model.preprocess(dataset.image(i)))
            label = torch.tensor([dataset.labels[i]])
            losses.append(float(F.cross_entropy(logits, label)))
            order = logits[0].argsort(descending=True).tolist()
            top1 += order[0] == label.item()
            top3 += label.item() in order[:3]
    return sum(losses) / len(losses), top1 / len(dataset), top3 / len(dataset)


def test_two_models_side_by_side_on_train_validation_and_test(fmnist_small, tmp_path):
    train, val, test = fmnist_small
    runs = {
        "bundled, fine-tuned": training.fit(models.load_default(), train, val=val,
                                            config=TrainConfig(mode="finetune", epochs=2, lr=0.01, **FAST)),
        "small CNN, from scratch": training.fit(user_model(tmp_path, "ReLU"), train, val=val,
                                                config=TrainConfig(mode="scratch", epochs=2, optimizer="adam",
                                                                   lr=0.003, **FAST)),
    }
    table = {name: {split: training.evaluate(run.model, data) for split, data in
                    (("train", train), ("val", val), ("test", test))} for name, run in runs.items()}
    for row in table.values():
        for scores in row.values():
            assert math.isfinite(scores.loss) and 0 <= scores.top1 <= scores.top3 <= 1
    assert table["bundled, fine-tuned"]["test"].top1 > table["small CNN, from scratch"]["test"].top1
    assert table["bundled, fine-tuned"]["test"].top1 > 0.6
    expected = reference_scores(runs["small CNN, from scratch"].model, val)
    got = table["small CNN, from scratch"]["val"]
    assert (got.loss, got.top1, got.top3) == pytest.approx(expected, abs=1e-5)


def test_one_user_model_with_relu_and_with_tanh_overlaid_epoch_by_epoch(fmnist_small, tmp_path):
    train, val, _ = fmnist_small
    config = TrainConfig(mode="scratch", epochs=3, optimizer="adam", lr=0.003, seed=1, **FAST)
    runs = {act: training.fit(user_model(tmp_path, act), train, val=val, config=config, out=tmp_path / act)
            for act in ("ReLU", "Tanh")}
    curves = {act: [row.loss for row in run.rows("val")] for act, run in runs.items()}
    for run in runs.values():
        assert [row.epoch for row in run.rows("val")] == [1, 2, 3]
    assert all(curve[-1] < curve[0] for curve in curves.values())
    assert curves["ReLU"] != curves["Tanh"]
    reloaded = models.load(str(tmp_path / "Tanh" / f"epoch-{runs['Tanh'].best_epoch:03d}"))
    assert [type(m).__name__ for m in reloaded.module if "Tanh" in type(m).__name__ or "ReLU" in type(m).__name__] \
        == ["Tanh", "Tanh"]
    x = torch.randn(2, 1, 28, 28)
    assert torch.allclose(reloaded.logits(x), runs["Tanh"].model.logits(x))
