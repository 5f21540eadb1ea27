"""Image sources for the dataset scan: image folders (labelled or flat) and the installed Fashion-MNIST."""

import numpy as np
import pytest
import torch
from PIL import Image
from scan_reference import jpeg_bytes, write_bad_folder

from cnnviz.core.data import datasets, images


def _png(path, value=0, size=(20, 16), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path, format="PNG")


@pytest.fixture(scope="module")
def model():
    from cnnviz.core.model import models

    return models.load_default()


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return root, write_bad_folder(root)


def test_class_per_subfolder_labels_are_sorted_folder_names(tmp_path):
    for relative in ["zebra/z1.png", "apple/a2.png", "apple/a1.png", "mango/m1.png", "apple/deep/er/a0.png"]:
        _png(tmp_path / relative)
    ds = datasets.open_folder(tmp_path)
    assert ds.kind == "folder"
    assert ds.name == tmp_path.name
    assert ds.classes == ["apple", "mango", "zebra"]
    assert ds.files == sorted(["apple/a1.png", "apple/a2.png", "apple/deep/er/a0.png", "mango/m1.png", "zebra/z1.png"])
    assert ds.labels == [0, 0, 0, 1, 2]
    assert len(ds) == 5
    assert [ds.label(i) for i in range(5)] == [0, 0, 0, 1, 2]
    assert [ds.label_name(i) for i in range(5)] == ["apple"] * 3 + ["mango", "zebra"]
    assert ds.path(2) == tmp_path / "apple" / "deep" / "er" / "a0.png"
    assert ds.skipped == []
    identity = ds.identity()
    assert identity["kind"] == "folder" and identity["files"] == ds.files


def test_flat_folder_has_no_labels_and_is_recursive(tmp_path):
    _png(tmp_path / "b.png", 10)
    _png(tmp_path / "a.png", 20)
    _png(tmp_path / "sub" / "c.png", 30)
    ds = datasets.open_folder(tmp_path)
    assert ds.files == ["a.png", "b.png", "sub/c.png"]
    assert ds.labels is None
    assert ds.classes == []
    assert ds.label(0) is None and ds.label_name(2) == ""
    assert np.asarray(ds.image(2).convert("L")).max() == 30


def test_extensions_are_case_insensitive_and_other_files_ignored(tmp_path):
    _png(tmp_path / "one.PNG")
    (tmp_path / "two.JpEg").write_bytes(jpeg_bytes(1))
    (tmp_path / "three.Jpg").write_bytes(jpeg_bytes(2))
    (tmp_path / "readme.txt").write_text("not an image", encoding="utf-8")
    (tmp_path / "labels.csv").write_text("a,b\n", encoding="utf-8")
    ds = datasets.open_folder(tmp_path)
    assert ds.files == ["one.PNG", "three.Jpg", "two.JpEg"]
    assert all(ext.startswith(".") and ext == ext.lower() for ext in datasets.IMAGE_EXTENSIONS)
    assert {".png", ".jpg", ".jpeg"} <= set(datasets.IMAGE_EXTENSIONS)
    assert ds.image(2).size == (40, 48)


def test_bad_files_are_skipped_with_reasons(bad_folder):
    root, kinds = bad_folder
    ds = datasets.open_folder(root)
    good = sorted(name for name, kind in kinds.items() if kind == "good")
    assert ds.files == sorted(good + ["cut.jpg"])  # the truncated one passes the header check
    reasons = {s.path: s.reason for s in ds.skipped}
    assert set(reasons) == {"notes.jpg", "empty.png"}
    assert "empty" in reasons["empty.png"].lower()
    assert all(reason.strip() for reason in reasons.values())
    cut = ds.files.index("cut.jpg")
    with pytest.raises(images.ImageLoadError):
        ds.image(cut)


def test_scan_over_bad_folder_completes_and_lists_all_three(bad_folder, model):
    from cnnviz.core.per_dataset import scan

    root, kinds = bad_folder
    ds = datasets.open_folder(root)
    index = scan.build(model, ds, layers=["features.conv1"], k=9, batch_size=2, workers=0)
    cut = ds.files.index("cut.jpg")
    assert [i for i, _ in index.skipped] == [cut]
    assert index.skipped[0][1].strip()
    assert {s.path for s in ds.skipped} == {"notes.jpg", "empty.png", "cut.jpg"}
    cut_reason = next(s.reason for s in ds.skipped if s.path == "cut.jpg")
    assert cut_reason.strip()
    good = [i for i, name in enumerate(ds.files) if kinds[name] == "good"]
    assert index.stats("features.conv1").count == len(good) == 4
    assert index.scanned == len(ds) and not index.partial
    assert index.seen.all()
    for channel in range(index.channels("features.conv1")):
        assert sorted(h.image for h in index.top("features.conv1", channel=channel)) == good
    # skip() records an image once
    ds.skip(cut, "again")
    assert [s.path for s in ds.skipped].count("cut.jpg") == 1


def test_empty_and_all_bad_folders_are_value_errors(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    with pytest.raises(ValueError, match="image") as caught:
        datasets.open_folder(empty)
    assert "nothing_here" in str(caught.value)
    bad = tmp_path / "only_junk"
    bad.mkdir()
    (bad / "x.jpg").write_text("text", encoding="utf-8")
    (bad / "y.png").write_bytes(b"")
    with pytest.raises(ValueError, match="image") as caught:
        datasets.open_folder(bad)
    assert "only_junk" in str(caught.value)


def test_missing_path_and_file_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        datasets.open_folder(tmp_path / "nowhere")
    _png(tmp_path / "a.png")
    with pytest.raises(NotADirectoryError):
        datasets.open_folder(tmp_path / "a.png")


def test_fashion_mnist_test_split(fashion_test_split):
    from cnnviz.core.data import fashion_mnist

    pixels, labels = fashion_test_split
    ds = datasets.fashion_mnist("test")
    assert datasets.fashion_mnist_available()
    assert len(ds) == 10_000 and ds.kind == "fashion-mnist"
    assert ds.labels == labels.tolist()
    assert ds.classes == list(fashion_mnist.CLASSES)
    for i in (0, 1, 4321, 9999):
        assert np.array_equal(np.asarray(ds.image(i)), pixels[i])
        assert ds.label_name(i) == fashion_mnist.CLASSES[labels[i]]
    assert len(ds.files) == 10_000 and len(set(ds.files)) == 10_000
    limited = datasets.fashion_mnist("test", limit=25)
    assert len(limited) == 25 and limited.labels == labels[:25].tolist()


def _collect(ds, preprocess, workers):
    indices, xs, failed = [], [], []
    for batch in datasets.batches(ds, preprocess, list(range(len(ds))), batch_size=2, workers=workers):
        assert batch.x.dtype == torch.float32 and batch.x.device.type == "cpu"
        assert batch.x.shape[0] == batch.indices.shape[0]
        indices += batch.indices.tolist()
        xs.append(batch.x)
        failed += batch.failed
    return indices, torch.cat(xs), failed


def test_batches_match_preprocess_with_and_without_workers(bad_folder, model):
    root, _ = bad_folder
    ds = datasets.open_folder(root)
    cut = ds.files.index("cut.jpg")
    preprocess = model.preprocessor()
    plain = _collect(ds, preprocess, 0)
    spawned = _collect(ds, preprocess, 2)
    good = [i for i in range(len(ds)) if i != cut]
    for indices, x, failed in (plain, spawned):
        assert indices == good
        assert [i for i, _ in failed] == [cut] and failed[0][1].strip()
        for row, i in enumerate(indices):
            torch.testing.assert_close(x[row], model.preprocess(ds.image(i))[0].cpu(), atol=1e-6, rtol=0)
    assert torch.equal(plain[1], spawned[1])
    assert datasets.default_workers(1) >= 0
