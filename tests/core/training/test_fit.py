"""Training a copy: the user's model untouched, reproducible histories, resuming, checkpoints that load
like any model, a loss that diverges, cancelling, and data or heads that do not fit."""

import time

import pytest
import torch

from cnnviz.core import Cancelled, models, training
from cnnviz.core.model import checkpoint_files
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_dataset.scan import weights_checksum
from cnnviz.core.training import TrainConfig

FAST = {"batch_size": 50, "workers": 0}


def rows(run):
    """The history without the timings (which differ between runs)."""
    return [(r.epoch, r.split, r.loss, r.top1, r.top3, r.lr, r.images) for r in run.history]


@pytest.fixture(scope="module")
def bundled():
    return models.load_default()


def test_the_users_model_is_never_changed(bundled, fmnist_small):
    train, val, _ = fmnist_small
    before = {name: tensor.clone() for name, tensor in bundled.module.state_dict().items()}
    flags = [p.requires_grad for p in bundled.module.parameters()]
    run = training.fit(bundled, train, config=TrainConfig(mode="finetune", epochs=1, lr=0.05, **FAST), val=val)
    after = bundled.module.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert [p.requires_grad for p in bundled.module.parameters()] == flags
    assert not bundled.module.training and hook_count(bundled.module) == 0
    assert run.model.module is not bundled.module and run.model.categories == train.classes


def test_the_same_seed_and_config_give_the_same_history_and_another_seed_does_not(bundled, fmnist_small):
    train, val, _ = fmnist_small
    train = train.subset(range(100), "fm train 100")
    config = TrainConfig(mode="scratch", epochs=2, lr=0.05, augment=("hflip", "rotate:10"), seed=5, **FAST)
    first = training.fit(bundled, train, config=config, val=val)
    second = training.fit(bundled, train, config=config, val=val)
    third = training.fit(bundled, train, config=config.replace(seed=6), val=val)
    assert rows(first) == rows(second)
    assert rows(first) != rows(third)
    assert [r.split for r in first.history] == ["train", "val", "train", "val"]
    assert first.history[1].images == 100 and first.history[0].images == 100


def test_a_resumed_run_gives_the_history_of_an_uninterrupted_one(bundled, fmnist_small, tmp_path):
    train, val, _ = fmnist_small
    train = train.subset(range(150), "fm train 150")
    config = TrainConfig(mode="finetune", epochs=3, lr=0.02, schedule="step", step_every=1, step_factor=0.5, **FAST)
    whole = training.fit(bundled, train, config=config, val=val, out=tmp_path / "whole")
    training.fit(bundled, train, config=config.replace(epochs=1), val=val, out=tmp_path / "parts")
    resumed = training.fit(bundled, train, config=config, val=val, out=tmp_path / "parts", resume=True)
    assert rows(resumed) == rows(whole)
    assert [r.lr for r in whole.rows("train")] == [0.02, 0.01, 0.005]
    assert [p.name for p in resumed.checkpoints] == ["epoch-001", "epoch-002", "epoch-003"]
    with pytest.raises(ValueError, match="other settings \\(lr\\)"):
        training.fit(bundled, train, config=config.replace(lr=0.1), val=val, out=tmp_path / "parts", resume=True)


def test_the_best_checkpoint_is_the_model_and_loads_like_any_model(bundled, fmnist_small, tmp_path):
    train, val, test = fmnist_small
    run = training.fit(bundled, train, config=TrainConfig(mode="probe", epochs=3, lr=0.05, **FAST), val=val,
                       out=tmp_path)
    losses = [r.loss for r in run.rows("val")]
    assert run.best_epoch == losses.index(min(losses)) + 1
    folder = tmp_path / f"epoch-{run.best_epoch:03d}"
    loaded = models.load(str(folder))
    assert loaded.categories == train.classes and loaded.source == "checkpoint"
    assert models.load(str(folder / "checkpoint.json")).path == folder.resolve()  # the file an open dialog picks
    assert models.code_to_run(folder) is None  # the bundled base runs no file's code
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded.logits(x), run.model.logits(x))
    meta = checkpoint_files.read_meta(folder)
    assert meta["config"]["mode"] == "probe" and meta["head"] == "classifier.fc2"
    assert meta["base"]["spec"] == "default" and meta["base"]["checksum"] == weights_checksum(bundled)
    assert len(meta["history"]) == 2 * run.best_epoch
    scores = training.evaluate(loaded, test)
    assert scores.count == 200 and scores.confusion.sum() == 200 and scores.top1 > 0.6


def test_a_probe_learns_only_the_head(bundled, fmnist_small):
    train, _, _ = fmnist_small
    run = training.fit(bundled, train, config=TrainConfig(mode="probe", epochs=1, lr=0.05, **FAST))
    trained, loaded = run.model.module.state_dict(), bundled.module.state_dict()
    changed = sorted(name for name in trained if not torch.equal(trained[name], loaded[name]))
    assert changed == ["classifier.fc2.bias", "classifier.fc2.weight"]


def test_a_loss_that_stops_being_finite_ends_the_run_and_keeps_the_last_finite_checkpoint(bundled, fmnist_small,
                                                                                        tmp_path, monkeypatch):
    train, val, _ = fmnist_small
    from cnnviz.core.training import loop

    real = loop.F.cross_entropy
    calls = {"n": 0}

    def poisoned(logits, labels, **kwargs):
        value = real(logits, labels, **kwargs)
        if "reduction" in kwargs:  # a score, not a training step
            return value
        calls["n"] += 1
        return value * float("nan") if calls["n"] == 9 else value  # batch 3 of epoch 2 (6 batches an epoch)

    monkeypatch.setattr(loop.F, "cross_entropy", poisoned)
    run = training.fit(bundled, train, config=TrainConfig(epochs=3, lr=0.01, **FAST), val=val, out=tmp_path)
    assert run.diverged and "became nan in epoch 2, batch 3" in run.stopped
    assert [p.name for p in run.checkpoints] == ["epoch-001"] and run.best_epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-001", "splits.json"]


def test_cancelling_stops_between_batches_and_writes_the_partial_checkpoint(bundled, fmnist_small, tmp_path):
    train, _, _ = fmnist_small
    asked: list[float] = []

    def progress(done, total):
        if done == 2:
            asked.append(time.monotonic())
            return False
        return True

    with pytest.raises(Cancelled):
        training.fit(bundled, train, config=TrainConfig(epochs=2, lr=0.01, **FAST), out=tmp_path, progress=progress)
    assert time.monotonic() - asked[0] < 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-001-partial", "splits.json"]
    assert checkpoint_files.read_meta(tmp_path / "epoch-001-partial")["history"] == []


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    folder = tmp_path / "epoch-001"
    checkpoint_files.write(folder, {"classes": ["a"]}, {"w": torch.ones(2)})

    def broken(tensors, path):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_files, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        checkpoint_files.write(folder, {"classes": ["b"]}, {"w": torch.zeros(2)})
    assert checkpoint_files.read_meta(folder)["classes"] == ["a"]
    assert torch.equal(checkpoint_files.read_tensors(folder)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-001"]


def test_heads_and_layers_that_do_not_fit_are_named(bundled, fmnist_small):
    train, _, _ = fmnist_small
    few = train.subset([i for i, label in enumerate(train.labels) if label < 3], "three classes")
    few.classes = few.classes[:3]
    with pytest.raises(ValueError, match="head gives 10 scores but the dataset has 3 classes"):
        training.fit(bundled, few, config=TrainConfig(head="keep", epochs=1, **FAST))
    with pytest.raises(ValueError, match=r"head_layer: features\.relu1 is a ReLU"):
        training.fit(bundled, train, config=TrainConfig(head_layer="features.relu1", epochs=1, **FAST))
    with pytest.raises(ValueError, match=r"'features\.conv9' is not a layer the forward pass calls"):
        training.fit(bundled, train, config=TrainConfig(unfreeze_from="features.conv9", epochs=1, **FAST))


def test_early_stop_ends_after_patience_epochs_without_a_better_validation_loss(bundled, fmnist_small, monkeypatch):
    train, val, _ = fmnist_small
    from cnnviz.core.training import loop

    losses = iter([1.0, 0.9, 0.95, 0.97, 0.99, 0.5])

    def scripted(self, epoch, lr):
        yield from ()
        return training.EpochMetrics(epoch, "val", next(losses), 0.5, 0.8, 0.0, lr, len(self.val))

    monkeypatch.setattr(loop._Trainer, "validate", scripted)
    run = training.fit(bundled, train.subset(range(100), "fm 100"), val=val,
                       config=TrainConfig(mode="probe", epochs=6, early_stop=2, lr=0.01, **FAST))
    assert [row.epoch for row in run.rows("val")] == [1, 2, 3, 4] and run.best_epoch == 2
    assert "has not improved for 2 epochs (best: epoch 2)" in run.stopped and not run.diverged


def test_unfreeze_from_trains_that_layer_and_the_later_ones_only(bundled, fmnist_small):
    train, _, _ = fmnist_small
    run = training.fit(bundled, train.subset(range(100), "fm 100"),
                       config=TrainConfig(mode="finetune", unfreeze_from="features.conv3", epochs=1, lr=0.05, **FAST))
    trained, loaded = run.model.module.state_dict(), bundled.module.state_dict()
    changed = {name.rsplit(".", 1)[0] for name in trained if not torch.equal(trained[name], loaded[name])}
    assert changed == {"features.conv3", "classifier.fc1", "classifier.fc2"}


def test_reinit_from_starts_that_layer_and_the_later_ones_afresh_and_keeps_the_rest():
    from cnnviz.core.training.prepare import prepare

    model = models.load_default()
    prepared = prepare(model, [f"c{i}" for i in range(4)], TrainConfig(reinit_from="classifier.fc1", head_init="zeros"))
    mine, loaded = prepared.module.state_dict(), model.module.state_dict()
    assert all(torch.equal(mine[name], loaded[name]) for name in loaded if name.startswith("features."))
    assert not mine["classifier.fc1.weight"].any() and mine["classifier.fc2.weight"].shape == (4, 128)
    assert prepared.head == "classifier.fc2" and prepared.replaced


def test_the_schedules_give_the_learning_rate_of_each_epoch():
    from cnnviz.core.training.optimisers import lr_at

    cosine = TrainConfig(lr=0.1, epochs=4, schedule="cosine")
    assert [lr_at(cosine, e) for e in (1, 2, 3, 4)] == pytest.approx([0.1, 0.0853553, 0.05, 0.0146447], abs=1e-6)
    step = TrainConfig(lr=0.1, schedule="step", step_every=2, step_factor=0.1)
    assert [lr_at(step, e) for e in (1, 2, 3, 5)] == pytest.approx([0.1, 0.1, 0.01, 0.001])


def test_mixed_precision_and_channels_last_are_cuda_only_and_change_nothing_on_the_cpu(bundled, fmnist_small):
    train = fmnist_small[0].subset(range(100), "fm 100")
    config = TrainConfig(mode="finetune", epochs=1, lr=0.01, **FAST)
    plain = training.fit(bundled, train, config=config)
    flagged = training.fit(bundled, train, config=config.replace(amp=True, channels_last=True))
    assert rows(flagged) == rows(plain)
