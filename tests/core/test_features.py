"""Per-image features against a plain forward hook, GeM pooling against its formula, the cache, bad images."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from scan_reference import write_bad_folder

from cnnviz.core.data import datasets
from cnnviz.core.per_dataset import features

CONV_LAYER = "features.relu2"
"""A conv-stage layer of the bundled model: [N, 64, 14, 14], non-negative (after a ReLU)."""
FC_LAYER = "classifier.fc1"
"""A fully connected layer of the bundled model: [N, 128]."""
CLASSES = ("circles", "stripes", "noise")
PER_CLASS = 7
TOLERANCE = 1e-6
"""Features equal the hooked reference to this, relative to the largest magnitude of the layer's output
(a batched and a single-image float32 pass round the sums of products differently, by a few ulps of that)."""


def _picture(kind: str, seed: int) -> Image.Image:
    """A 28×28 grayscale test picture of one of three kinds (an RGB 40×36 one for seed 0 of each)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28] / 27.0
    if kind == "circles":
        pixels = 0.5 + 0.5 * np.cos(30 * np.hypot(xx - rng.random(), yy - rng.random()))
    elif kind == "stripes":
        pixels = 0.5 + 0.5 * np.sin(20 * (xx * rng.random() + yy) + rng.random() * 6)
    else:
        pixels = rng.random((28, 28))
    grey = (pixels * 255).astype(np.uint8)
    if seed % PER_CLASS == 0:
        return Image.fromarray(np.stack([grey, grey[::-1], grey.T], axis=2), mode="RGB").resize((40, 36))
    return Image.fromarray(grey, mode="L")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A class-per-folder tree of 3 × 7 small pictures (PNG)."""
    root = tmp_path_factory.mktemp("feature_tree")
    for c, kind in enumerate(CLASSES):
        (root / kind).mkdir()
        for i in range(PER_CLASS):
            _picture(kind, c * PER_CLASS + i).save(root / kind / f"{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def dataset(tree):
    return datasets.open_folder(tree)


def hooked_outputs(model, paths, layer: str) -> list[np.ndarray]:
    """The output of ``layer`` for each image file (decoded with PIL here, one forward pass each,
    taken by a plain ``register_forward_hook``), float64, without the batch axis."""
    captured: list[torch.Tensor] = []
    handle = model.module.get_submodule(layer).register_forward_hook(
        lambda _module, _inputs, output: captured.append(output.detach().clone()))
    try:
        with torch.no_grad():
            for path in paths:
                with Image.open(path) as image:
                    model.module(model.preprocess(image.copy()))
    finally:
        handle.remove()
    return [out[0].cpu().numpy().astype(np.float64) for out in captured]


def assert_equal_features(got: np.ndarray, expected: np.ndarray) -> None:
    """``got`` equals ``expected`` to :data:`TOLERANCE` of the largest magnitude in ``expected``."""
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * scale)


def reference_pooled(output: np.ndarray, pooling: str, p: float = 3.0) -> np.ndarray:
    """One image's layer output [C, H, W] or [D] as a vector, by the textbook definitions (numpy)."""
    if output.ndim == 1:
        return output
    positions = output.reshape(output.shape[0], -1)
    if pooling in ("avg", "auto"):
        return positions.mean(axis=1)
    if pooling == "max":
        return positions.max(axis=1)
    if pooling == "gem":
        return np.mean(np.maximum(positions, features.GEM_EPSILON) ** p, axis=1) ** (1.0 / p)
    return output.reshape(-1)


@pytest.fixture(scope="module")
def conv_outputs(bundled, dataset):
    return hooked_outputs(bundled, [dataset.path(i) for i in range(len(dataset))], CONV_LAYER)


@pytest.mark.parametrize("pooling", ["avg", "max", "gem", "flatten", "auto"])
def test_conv_layer_features_equal_a_forward_hook(bundled, dataset, conv_outputs, pooling):
    got = features.extract(bundled, dataset, layer=CONV_LAYER, pooling=pooling, p=3.0, batch_size=8, workers=0)
    expected = np.stack([reference_pooled(out, pooling, 3.0) for out in conv_outputs])
    assert got.values.dtype == np.float32
    assert got.values.shape == expected.shape == (len(dataset), 64 * 14 * 14 if pooling == "flatten" else 64)
    assert_equal_features(got.values, expected)
    assert got.pooling == ("avg" if pooling == "auto" else pooling)
    assert got.size == features.feature_size((1, 64, 14, 14), pooling)
    np.testing.assert_array_equal(got.images, np.arange(len(dataset)))
    np.testing.assert_array_equal(got.labels, np.repeat(np.arange(len(CLASSES)), PER_CLASS))
    assert got.classes == sorted(CLASSES)
    assert got.paths == dataset.files
    assert got.layer == CONV_LAYER


@pytest.mark.parametrize("pooling", ["auto", "avg", "gem"])
def test_fully_connected_layer_features_equal_a_forward_hook(bundled, dataset, pooling):
    """A vector layer is taken as it is whatever the pooling asked for ("none" is recorded)."""
    got = features.extract(bundled, dataset, layer=FC_LAYER, pooling=pooling, batch_size=5, workers=0)
    expected = np.stack(hooked_outputs(bundled, [dataset.path(i) for i in range(len(dataset))], FC_LAYER))
    assert got.values.shape == (len(dataset), 128)
    assert_equal_features(got.values, expected)
    assert got.pooling == "none"


def test_gem_matches_its_formula_on_signed_maps():
    """GeM of maps with negative values: (mean over positions of max(x, ε)^p)^(1/p), computed in numpy."""
    maps = torch.randn(4, 6, 5, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float32) * 2
    x = maps.double().numpy().reshape(4, 6, -1)
    for p in (1.0, 2.5, 3.0, 7.0):
        expected = np.mean(np.maximum(x, 1e-6) ** p, axis=2) ** (1.0 / p)
        np.testing.assert_allclose(features.gem(maps, p).numpy(), expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(features.pooled(maps, "gem", p).numpy(), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(features.gem(maps, 3.0, eps=0.5).numpy(),
                               np.mean(np.maximum(x, 0.5) ** 3, axis=2) ** (1 / 3), rtol=1e-5)


def test_gem_with_p_one_is_average_pooling(bundled, dataset):
    gem1 = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="gem", p=1.0, batch_size=8, workers=0)
    avg = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="avg", batch_size=8, workers=0)
    # inputs are clamped at ε = 1e-6, so zeros (after the ReLU) add at most ε to the mean
    np.testing.assert_allclose(gem1.values, avg.values, rtol=TOLERANCE, atol=features.GEM_EPSILON + TOLERANCE)


LARGE_P = 50.0


def assert_near_max(gem: np.ndarray, peak: np.ndarray, positions: int, p: float) -> None:
    """max · (1 / positions)^(1/p) ≤ GeM ≤ max: the bound of a power mean of non-negative values
    (for p = 50: 196 positions give a factor ≥ 0.90, 100 positions ≥ 0.912), with 1e-5 relative slack."""
    assert np.isfinite(gem).all()
    assert (gem <= peak * (1 + 1e-5) + features.GEM_EPSILON).all()
    assert (gem >= peak * (1.0 / positions) ** (1.0 / p) * (1 - 1e-5)).all()


def test_gem_with_large_p_approaches_max_pooling_on_moderate_values():
    maps = torch.rand(3, 8, 10, 10, generator=torch.Generator().manual_seed(5)) * 3.5 + 0.5
    assert_near_max(features.gem(maps, LARGE_P).numpy(), maps.amax(dim=(2, 3)).numpy(), 100, LARGE_P)
    # and closer as p grows: the gap to the maximum shrinks
    gaps = [float((maps.amax(dim=(2, 3)) - features.gem(maps, p)).mean()) for p in (1.0, 3.0, 10.0, LARGE_P)]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 0.2 * gaps[0]


def test_gem_with_large_p_approaches_max_pooling_on_the_models_layer(bundled, dataset):
    gem = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="gem", p=LARGE_P, batch_size=8, workers=0)
    peak = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="max", batch_size=8, workers=0)
    assert_near_max(gem.values, peak.values, 14 * 14, LARGE_P)


def test_of_image_equals_the_extract_row(bundled, dataset):
    for pooling, layer in (("gem", CONV_LAYER), ("flatten", CONV_LAYER), ("auto", FC_LAYER)):
        rows = features.extract(bundled, dataset, layer=layer, pooling=pooling, batch_size=8, workers=0)
        for image in (0, 9, len(dataset) - 1):
            vector = features.of_image(bundled, bundled.preprocess(dataset.image(image)), layer=layer, pooling=pooling)
            assert vector.shape == (rows.size,) and vector.dtype == np.float32
            assert_equal_features(vector, rows.values[rows.row_of(image)])


def _refuse(*_args, **_kwargs):
    raise AssertionError("extract_steps was called: the cache was not used")


def test_second_extract_reads_the_cache(bundled, dataset, tmp_path, monkeypatch):
    first = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="gem", p=3.0, batch_size=8, workers=0,
                             cache=tmp_path)
    saved = list(tmp_path.glob("*.npz"))
    assert len(saved) == 1
    monkeypatch.setattr(features, "extract_steps", _refuse)
    again = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="gem", p=3.0, cache=tmp_path)
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(again.labels, first.labels)
    assert (again.classes, again.paths, again.layer, again.pooling, again.p) == (
        first.classes, first.paths, first.layer, first.pooling, first.p)
    assert again.weights == first.weights and again.dataset == first.dataset


def test_the_cache_misses_for_another_model_layer_pooling_p_or_file_list(bundled, dataset, tmp_path, monkeypatch):
    first = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="gem", p=3.0, batch_size=8, workers=0,
                             cache=tmp_path)
    other_model = copy.deepcopy(bundled)
    with torch.no_grad():
        other_model.module.get_submodule("features.conv1").bias.add_(1e-3)
    fewer = dataclasses.replace(dataset, files=dataset.files[:-1], labels=dataset.labels[:-1], skipped=[])
    monkeypatch.setattr(features, "extract_steps", _refuse)
    for model, data, layer, pooling, p in ((other_model, dataset, CONV_LAYER, "gem", 3.0),
                                           (bundled, dataset, "features.relu1", "gem", 3.0),
                                           (bundled, dataset, CONV_LAYER, "avg", 3.0),
                                           (bundled, dataset, CONV_LAYER, "gem", 4.0),
                                           (bundled, fewer, CONV_LAYER, "gem", 3.0)):
        with pytest.raises(AssertionError, match="cache was not used"):
            features.extract(model, data, layer=layer, pooling=pooling, p=p, cache=tmp_path)
    monkeypatch.undo()
    changed = features.extract(other_model, dataset, layer=CONV_LAYER, pooling="gem", batch_size=8, workers=0,
                               cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    assert np.abs(changed.values - first.values).max() > 1e-5


def test_the_cache_file_loads_without_pickle(bundled, dataset, tmp_path):
    made = features.extract(bundled, dataset, layer=FC_LAYER, batch_size=8, workers=0, cache=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    assert path == features.cache_path(tmp_path, bundled, dataset, FC_LAYER, "auto", 3.0)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
        np.testing.assert_array_equal(data["values"], made.values)
        np.testing.assert_array_equal(data["images"], made.images)
        np.testing.assert_array_equal(data["labels"], made.labels)


def test_undecodable_images_are_left_out_and_rows_name_their_images(bundled, tmp_path):
    kinds = write_bad_folder(tmp_path / "bad")
    dataset = datasets.open_folder(tmp_path / "bad", verify=False)
    assert len(dataset) == len(kinds)
    got = features.extract(bundled, dataset, layer=CONV_LAYER, pooling="max", batch_size=3, workers=0)
    good = [i for i, name in enumerate(dataset.files) if kinds[name] == "good"]
    np.testing.assert_array_equal(got.images, good)
    assert got.paths == [dataset.files[i] for i in good]
    assert got.values.shape == (len(good), 64)
    expected = np.stack([reference_pooled(out, "max") for out in
                         hooked_outputs(bundled, [dataset.path(i) for i in good], CONV_LAYER)])
    assert_equal_features(got.values, expected)
    for image, name in enumerate(dataset.files):
        assert (got.row_of(image) is None) == (kinds[name] != "good")
    assert {s.path for s in dataset.skipped} == {name for name, kind in kinds.items() if kind != "good"}
    # a flat folder has no labels: features without labels and without classes
    assert got.labels is None and got.classes == []


def test_gem_of_real_fashion_mnist_images_equals_the_hand_written_formula(bundled, fashion_test_split):
    """GeM (p = 3) at ``features.relu3`` [N, 128, 7, 7] of 200 Fashion-MNIST test images, as ``extract``
    makes it batch by batch, equals ``(x.clamp(min=ε) ** p).mean((-2, -1)) ** (1 / p)`` on the hooked
    outputs of the same images to 1e-5 relative."""
    ds = datasets.fashion_mnist("test", limit=200)
    got = features.extract(bundled, ds, layer="features.relu3", pooling="gem", p=3.0, batch_size=64, workers=0)
    captured: list[torch.Tensor] = []
    handle = bundled.module.get_submodule("features.relu3").register_forward_hook(
        lambda _module, _inputs, output: captured.append(output.detach().clone()))
    try:
        with torch.no_grad():
            for batch in datasets.batches(ds, bundled.preprocessor(), range(len(ds)), batch_size=50, workers=0):
                bundled.module(batch.x)
    finally:
        handle.remove()
    x = torch.cat(captured).double()
    expected = (x.clamp(min=features.GEM_EPSILON) ** 3.0).mean((-2, -1)) ** (1 / 3.0)
    assert got.values.shape == (200, 128) and got.pooling == "gem"
    np.testing.assert_array_equal(got.images, np.arange(200))
    np.testing.assert_allclose(got.values, expected.numpy(), rtol=1e-5, atol=0)
