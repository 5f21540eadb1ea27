"""Stratified, seeded splits; folders that come split; what a split must hold to train on."""

import pytest
from training_folders import write_folder

from cnnviz.core import datasets, training
from cnnviz.core.training.splits import check_labelled


def counts_by_class(dataset):
    return [dataset.labels.count(k) for k in range(len(dataset.classes))]


def test_each_split_keeps_the_class_proportions_and_the_seed_fixes_it(tmp_path):
    ds = datasets.open_folder(write_folder(tmp_path, {"a": 10, "b": 20, "c": 30}))
    train, val, test = training.split(ds, (0.7, 0.2, 0.1), seed=3)
    assert counts_by_class(train) == [7, 14, 21]
    assert counts_by_class(val) == [2, 4, 6]
    assert counts_by_class(test) == [1, 2, 3]
    assert not set(train.files) & set(val.files) and not set(val.files) & set(test.files)
    again = training.split(ds, (0.7, 0.2, 0.1), seed=3)
    other = training.split(ds, (0.7, 0.2, 0.1), seed=4)
    assert again[0].files == train.files and other[0].files != train.files


def test_a_small_class_still_gets_an_image_in_every_split_and_a_zero_share_gives_none(tmp_path):
    ds = datasets.open_folder(write_folder(tmp_path, {"a": 4, "b": 40}))
    train, val, test = training.split(ds, (0.8, 0.1, 0.1))
    assert counts_by_class(val)[0] == 1 and counts_by_class(test)[0] == 1 and counts_by_class(train)[0] == 2
    assert training.split(ds, (0.8, 0.2))[2] is None


def test_a_folder_with_train_val_test_is_read_as_those_splits(tmp_path):
    for split, count in (("train", 5), ("val", 2), ("test", 3)):
        write_folder(tmp_path / split, {"cat": count, "dog": count})
    ds = datasets.open_folder(tmp_path)
    assert ds.classes == ["cat", "dog"] and sorted(ds.splits) == ["test", "train", "val"]
    train, val, test = training.split(ds, (0.5, 0.5))  # the shares are not used
    assert (len(train), len(val), len(test)) == (10, 4, 6)
    assert all(name.startswith("val/") for name in val.files) and counts_by_class(test) == [3, 3]


@pytest.mark.parametrize("fractions, words", [((0.7, 0.3, 0.2), "over 1"), ((0.0, 0.5), "train's above 0"),
                                              ((0.5, -0.1), "at least 0")])
def test_bad_shares_are_refused(tmp_path, fractions, words):
    ds = datasets.open_folder(write_folder(tmp_path, {"a": 4, "b": 4}))
    with pytest.raises(ValueError, match=words):
        training.split(ds, fractions)


def test_what_cannot_be_trained_on_is_named(tmp_path):
    one = datasets.open_folder(write_folder(tmp_path / "one", {"only": 3}))
    with pytest.raises(ValueError, match="1 class; training needs at least 2"):
        check_labelled(one, "train")
    two = datasets.open_folder(write_folder(tmp_path / "two", {"a": 3, "b": 3}))
    with pytest.raises(ValueError, match="no image of class b"):
        check_labelled(two.subset([0, 1, 2], "val"), "val", ["a", "b"])
    flat = tmp_path / "flat"
    write_folder(flat, {"x": 2})
    (flat / "x" / "000.png").rename(flat / "loose.png")
    with pytest.raises(ValueError, match="no labels"):
        training.split(datasets.open_folder(flat))
