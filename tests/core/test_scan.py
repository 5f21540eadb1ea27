"""Dataset scan: running top-k and unit statistics against a brute-force reference (Fashion-MNIST folder)."""

import copy
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from scan_reference import SCAN_IMAGES, SCAN_LAYERS, assert_top_matches, brute_force, reference_top, selectivity
from torch import nn

from cnnviz.core.data import datasets
from cnnviz.core.model import hooks, layers, models
from cnnviz.core.per_dataset import scan

K = 9


@pytest.fixture(scope="module")
def tree_labels(fashion_tree, fashion_test_split):
    """Label of each dataset index of the tree (from the original Fashion-MNIST labels)."""
    _, original = fashion_tree
    return fashion_test_split[1][np.asarray(original)]


@pytest.fixture(scope="module")
def inputs(scan_model, fashion_folder):
    """model.preprocess of each file of the tree, decoded with PIL here (not through the dataset)."""
    result = []
    for relative in fashion_folder.files:
        with Image.open(fashion_folder.root / relative) as image:
            result.append(scan_model.preprocess(image.copy()))
    return result


@pytest.fixture(scope="module")
def reference(scan_model, inputs):
    """Brute-force scores and positions of every image for :data:`SCAN_LAYERS`."""
    return brute_force(scan_model.module, inputs, SCAN_LAYERS)


@pytest.fixture(scope="module")
def maps_at(scan_model, inputs):
    """Reference activation of (layer, image, channel, position) from a fresh single-image pass."""

    def value(layer):
        def at(image, channel, position):
            out = layers.capture(scan_model, inputs[image], layers=layer)[layer][0, channel]
            return float(out[position[0], position[1]])
        return at

    return value


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory, fashion_folder):
    """Every 10th file of the tree (same class folders, all ten classes) as another dataset."""
    root = tmp_path_factory.mktemp("fashion_small")
    for relative in fashion_folder.files[::10]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fashion_folder.root / relative, root / relative)
    return datasets.open_folder(root)


def _same_index(a, b, atol=1e-6):
    """Same layers, top lists (images, positions; activations within atol) and statistics."""
    assert a.layers == b.layers and a.k == b.k
    assert a.scanned == b.scanned and a.total == b.total
    assert np.array_equal(a.seen, b.seen)
    for layer in a.layers:
        assert a.channels(layer) == b.channels(layer)
        for channel in range(a.channels(layer)):
            top_a, top_b = a.top(layer, channel=channel), b.top(layer, channel=channel)
            assert [(h.image, h.position) for h in top_a] == [(h.image, h.position) for h in top_b], (layer, channel)
            np.testing.assert_allclose([h.activation for h in top_a], [h.activation for h in top_b], atol=atol, rtol=0)
        sa, sb = a.stats(layer), b.stats(layer)
        assert sa.count == sb.count
        for name in ("fire_rate", "mean_max", "max", "class_mean", "selectivity"):
            np.testing.assert_allclose(getattr(sa, name), getattr(sb, name), atol=atol, rtol=1e-6, err_msg=name)
        assert np.array_equal(sa.class_count, sb.class_count)


def test_tree_is_labelled_by_class_folder(fashion_folder, tree_labels):
    assert len(fashion_folder) == SCAN_IMAGES
    assert fashion_folder.labels == tree_labels.tolist()
    assert fashion_folder.classes[0] == "0_tshirt" and len(fashion_folder.classes) == 10


def test_default_layers_are_the_relus_after_the_convs_in_forward_order(scan_model):
    modules = dict(scan_model.module.named_modules())
    expected = [n for n in scan_model.layer_names() if isinstance(modules[n], nn.Conv2d)]
    assert scan.conv_layers(scan_model) == expected == ["features.conv1", "features.conv2", "features.conv3"]
    assert scan.default_layers(scan_model) == ["features.relu1", "features.relu2", "features.relu3"]


def test_index_describes_the_scan(full_index, scan_model, fashion_folder, reference):
    assert full_index.model_name == scan_model.name
    assert full_index.weights == scan.weights_checksum(scan_model) == scan.weights_checksum(models.load_default())
    assert full_index.dataset == fashion_folder.identity()
    assert np.array_equal(full_index.labels, fashion_folder.labels) and full_index.classes == fashion_folder.classes
    assert full_index.layers == SCAN_LAYERS and full_index.k == K and full_index.shard is None
    assert (full_index.scanned, full_index.total, full_index.partial) == (SCAN_IMAGES, SCAN_IMAGES, False)
    assert full_index.seen.shape == (SCAN_IMAGES,) and full_index.seen.all()
    assert full_index.skipped == []
    for layer in SCAN_LAYERS:
        assert full_index.channels(layer) == reference[layer].scores.shape[1]
        assert full_index.spatial(layer) == reference[layer].spatial
    assert [full_index.channels(n) for n in SCAN_LAYERS] == [32, 128, 128]


def test_index_labels_are_a_list_like_the_datasets(full_index, fashion_folder):
    assert isinstance(full_index.labels, list) and full_index.labels == fashion_folder.labels


@pytest.mark.parametrize("layer", SCAN_LAYERS)
def test_top_equals_brute_force_for_every_channel(full_index, reference, maps_at, layer):
    ref = reference[layer]
    for channel in range(ref.scores.shape[1]):
        assert_top_matches(full_index.top(layer, channel=channel), ref, maps_at(layer), channel, K)


@pytest.mark.parametrize("layer", SCAN_LAYERS)
def test_stats_equal_brute_force(full_index, reference, tree_labels, layer):
    scores = reference[layer].scores.astype(np.float64)
    stats = full_index.stats(layer)
    assert stats.layer == layer and stats.count == SCAN_IMAGES
    np.testing.assert_allclose(stats.fire_rate, (scores > 0).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(stats.mean_max, scores.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats.max, scores.max(axis=0), rtol=0, atol=1e-5)
    assert stats.max.dtype == np.float32 and stats.fire_rate.dtype == np.float64
    assert np.array_equal(stats.class_count, np.bincount(tree_labels, minlength=10))
    class_mean = np.stack([scores[tree_labels == c].mean(axis=0) for c in range(10)], axis=1)
    assert stats.class_mean.shape == (scores.shape[1], 10)
    np.testing.assert_allclose(stats.class_mean, class_mean, rtol=1e-5, atol=1e-6)
    expected = selectivity(scores, tree_labels, 10)
    np.testing.assert_allclose(stats.selectivity, expected, rtol=1e-5, atol=1e-6)
    assert np.all((stats.selectivity >= 0) & (stats.selectivity <= 1))
    dead = np.flatnonzero((scores > 0).mean(axis=0) <= 0.0)
    assert np.array_equal(full_index.dead_units(layer), dead)
    nearly = np.flatnonzero((scores > 0).mean(axis=0) <= 0.25)
    assert np.array_equal(full_index.dead_units(layer, 0.25), nearly)


def test_order_sorts_channels(full_index):
    layer = "features.pool3"
    stats = full_index.stats(layer)
    channels = full_index.channels(layer)
    assert np.array_equal(full_index.order(layer, "index"), np.arange(channels))
    for by, values in (("max", stats.max), ("fire_rate", stats.fire_rate), ("selectivity", stats.selectivity)):
        order = full_index.order(layer, by)
        assert sorted(order.tolist()) == list(range(channels)), by
        assert np.all(np.diff(values[order]) <= 0), by


@pytest.fixture(scope="module")
def shards(scan_model, fashion_folder):
    return [scan.build(scan_model, fashion_folder, layers=SCAN_LAYERS, k=K, batch_size=64, workers=0, shard=(i, 2))
            for i in (1, 2)]


def test_shards_cover_their_share(shards, reference, maps_at):
    for number, part in enumerate(shards):
        mine = np.arange(SCAN_IMAGES) % 2 == number
        assert part.shard == (number + 1, 2)
        assert part.total == mine.sum() == part.scanned and not part.partial
        assert np.array_equal(part.seen, mine)
        ref = reference["features.conv1"]
        for channel in range(0, 32, 7):
            assert_top_matches(part.top("features.conv1", channel=channel), ref, maps_at("features.conv1"), channel, K,
                               images=np.flatnonzero(mine))
        assert part.stats("features.conv1").count == mine.sum()


def test_merge_of_halves_equals_full_scan(shards, full_index):
    merged = scan.merge(shards)
    assert merged.shard is None and not merged.partial
    _same_index(merged, full_index)
    _same_index(scan.merge(shards[::-1]), full_index)


def test_overlapping_or_different_shards_do_not_merge(shards, full_index, scan_model, small_folder):
    with pytest.raises(scan.ScanMismatch):
        scan.merge([shards[0], shards[0]])
    with pytest.raises(scan.ScanMismatch):
        scan.merge([full_index, shards[1]])
    other_k = scan.build(scan_model, small_folder, layers=SCAN_LAYERS, k=3, workers=0)
    with pytest.raises(scan.ScanMismatch):
        scan.merge([shards[0], other_k])
    assert issubclass(scan.ScanMismatch, ValueError)


def test_save_load_round_trip(full_index, scan_model, fashion_folder, tmp_path):
    path = full_index.save(tmp_path / "index.npz")
    with np.load(path, allow_pickle=False) as stored:
        for key in stored.files:
            assert stored[key].dtype != object
    loaded = scan.load(path, scan_model, fashion_folder)
    assert (loaded.model_name, loaded.weights, loaded.dataset) == (
        full_index.model_name, full_index.weights, full_index.dataset)
    assert np.array_equal(loaded.labels, full_index.labels) and type(loaded.labels) is type(full_index.labels)
    assert (loaded.classes, loaded.layers, loaded.k, loaded.shard) == (
        full_index.classes, full_index.layers, full_index.k, full_index.shard)
    assert (loaded.scanned, loaded.total, loaded.partial, loaded.skipped) == (
        full_index.scanned, full_index.total, full_index.partial, full_index.skipped)
    assert np.array_equal(loaded.seen, full_index.seen)
    for layer in SCAN_LAYERS:
        for channel in range(full_index.channels(layer)):
            assert loaded.top(layer, channel=channel) == full_index.top(layer, channel=channel)
        a, b = loaded.stats(layer), full_index.stats(layer)
        for name in ("fire_rate", "mean_max", "max", "class_mean", "class_count", "selectivity"):
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
            assert getattr(a, name).dtype == getattr(b, name).dtype, name


def test_load_refuses_another_model_or_file_list(full_index, scan_model, fashion_folder, small_folder, tmp_path):
    path = full_index.save(tmp_path / "index.npz")
    changed = models.load_default()
    with torch.no_grad():
        changed.module.features.conv2.weight[0, 0, 0, 0] += 0.5
    assert scan.weights_checksum(changed) != full_index.weights
    with pytest.raises(scan.ScanMismatch):
        scan.load(path, changed, fashion_folder)
    with pytest.raises(scan.ScanMismatch):
        scan.load(path, scan_model, small_folder)


def test_cancel_keeps_a_partial_index_and_resume_completes_it(scan_model, fashion_folder, full_index, reference,
                                                              maps_at):
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 128

    with pytest.raises(scan.ScanCancelled) as caught:
        scan.build(scan_model, fashion_folder, layers=SCAN_LAYERS, k=K, batch_size=64, workers=0, progress=progress)
    partial = caught.value.index
    assert partial.partial and partial.scanned == 128 and partial.total == SCAN_IMAGES
    assert np.array_equal(np.flatnonzero(partial.seen), np.arange(128))
    assert partial.stats("features.conv1").count == 128
    assert calls[-1] == (128, SCAN_IMAGES)
    for channel in range(0, 128, 9):
        assert_top_matches(partial.top("classifier.fc1", channel=channel), reference["classifier.fc1"],
                           maps_at("classifier.fc1"), channel, K, images=np.arange(128))
    resumed = scan.build(scan_model, fashion_folder, layers=SCAN_LAYERS, k=K, batch_size=64, workers=0,
                         resume=partial)
    _same_index(resumed, full_index)


def test_build_steps_report_progress_to_the_total(scan_model, small_folder):
    steps = scan.build_steps(scan_model, small_folder, layers=["features.conv2"], k=K, batch_size=16, workers=0)
    done = []
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            final = stop.value
            break
        assert step.total == 100 and step.partial.images_per_s >= 0
        assert step.partial.index.scanned == step.done
        done.append(step.done)
    assert done == sorted(set(done)) and done[-1] == 100 and len(done) >= 100 // 16
    assert not final.partial and final.scanned == 100
    direct = scan.build(scan_model, small_folder, layers=["features.conv2"], k=K, batch_size=16, workers=0)
    _same_index(final, direct)


class _RaisesOnSecondBatch(nn.Module):
    """The bundled net, raising on the second batch of 16 images it sees."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.batches = 0

    def forward(self, x):
        if x.shape[0] == 16:
            self.batches += 1
            if self.batches == 2:
                raise RuntimeError("broken model on its 2nd batch")
        return self.inner(x)


def _user_model(raising: bool):
    """A wrap()ed copy of the bundled net in train mode with trainable parameters (as a user's may be)."""
    base = models.load_default()
    inner = copy.deepcopy(base.module)
    module = _RaisesOnSecondBatch(inner) if raising else inner
    module.train()
    module.requires_grad_(True)
    return models.wrap(module, input_size=base.input_size, mean=base.mean, std=base.std, in_channels=1,
                       resize_size=base.resize_size, categories=base.categories, name="user net")


def _flags(module):
    return ([m.training for m in module.modules()], [p.requires_grad for p in module.parameters()],
            {k: v.clone() for k, v in module.state_dict().items()})


def _assert_untouched(module, before):
    assert hooks.hook_count(module) == 0
    after = _flags(module)
    assert after[0] == before[0] and after[1] == before[1]
    assert after[2].keys() == before[2].keys()
    assert all(torch.equal(after[2][k], before[2][k]) for k in before[2])


def test_no_hooks_left_and_model_untouched(small_folder, full_index):
    model = _user_model(raising=False)
    before = _flags(model.module)
    index = scan.build(model, small_folder, layers=["features.conv1", "classifier.fc1"], k=K, batch_size=16,
                       workers=0)
    _assert_untouched(model.module, before)
    assert index.stats("features.conv1").count == 100
    with pytest.raises(scan.ScanCancelled):
        scan.build(model, small_folder, layers=["features.conv1"], k=K, batch_size=16, workers=0,
                   progress=lambda done, total: done < 32)
    _assert_untouched(model.module, before)


def test_no_hooks_left_after_the_model_raised(small_folder):
    model = _user_model(raising=True)
    before = _flags(model.module)
    with pytest.raises(Exception, match="2nd batch"):
        scan.build(model, small_folder, layers=["inner.features.conv1", "inner.classifier.fc1"], k=K,
                   batch_size=16, workers=0)
    assert model.module.batches == 2
    _assert_untouched(model.module, before)


def test_memory_is_bounded_by_k_times_channels(scan_model, small_folder, full_index, tmp_path):
    small = scan.build(scan_model, small_folder, layers=SCAN_LAYERS, k=K, batch_size=64, workers=0)
    with np.load(small.save(tmp_path / "small.npz"), allow_pickle=False) as a, \
            np.load(full_index.save(tmp_path / "full.npz"), allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if a[key].shape == b[key].shape:
                continue
            # only per-image vectors (seen) and encoded text (the JSON file list) may grow with N
            assert a[key].ndim == b[key].ndim == 1, key
            text = a[key].dtype.kind in "US" or a[key].dtype == np.uint8
            assert text or (a[key].shape, b[key].shape) == ((100,), (SCAN_IMAGES,)), key
        shapes = {a[key].shape for key in a.files if a[key].dtype.kind == "f"}
    for layer in SCAN_LAYERS:
        assert (full_index.channels(layer), K) in shapes, layer


def test_imagenet_squeezenet_hits_match_single_image_captures(shared_model, tmp_path):
    from cnnviz.core.data import images

    model = models.load_file(shared_model("squeezenet1_0_imagenet"))
    for sample in images.samples():
        shutil.copyfile(sample.path, tmp_path / sample.path.name)
    ds = datasets.open_folder(tmp_path)
    assert ds.labels is None and len(ds) == len(images.samples())
    convs = scan.conv_layers(model)
    chosen = [convs[0], convs[len(convs) // 2], scan.default_layers(model)[-1]]
    index = scan.build(model, ds, layers=chosen, k=4, batch_size=4, workers=0)
    assert index.stats(chosen[0]).class_mean is None and index.stats(chosen[0]).selectivity is None
    captured = [layers.capture(model, model.preprocess(images.load_image(ds.path(i))), layers=chosen)
                for i in range(len(ds))]
    for layer in chosen:
        maps = torch.cat([c[layer] for c in captured]).numpy()  # [N, C, H, W]
        scores = maps.reshape(*maps.shape[:2], -1).max(axis=2)
        for channel in range(maps.shape[1]):
            hits = index.top(layer, channel=channel)
            assert len(hits) == 4
            for hit in hits:
                row, col = hit.position
                assert abs(hit.activation - scores[hit.image, channel]) <= 1e-4, (layer, channel, hit)
                assert abs(maps[hit.image, channel, row, col] - scores[hit.image, channel]) <= 1e-4, (layer, channel)
            expected = reference_top_values(scores[:, channel], 4)
            np.testing.assert_allclose([h.activation for h in hits], expected, atol=1e-4, rtol=0)


def reference_top_values(values: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest of ``values``, best first."""
    return np.sort(values)[::-1][:k]


def test_reference_helper_breaks_ties_by_index():
    from scan_reference import Reference

    ref = Reference(np.array([[1.0], [3.0], [3.0], [0.0], [3.0]], dtype=np.float32),
                    np.zeros((5, 1, 2), dtype=int), True)
    assert reference_top(ref, 0, 3) == [1, 2, 4]
    assert reference_top(ref, 0, 2, images=np.array([0, 3, 4])) == [4, 0]
