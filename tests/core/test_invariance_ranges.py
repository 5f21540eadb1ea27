"""Invariance value ranges (the pane's from/to/step fields) and the CSV of several images' curves."""

import csv
import io

import numpy as np

from cnnviz.core.per_image import invariance


def test_value_range_lists_the_values_including_the_end_within_half_a_step():
    np.testing.assert_array_equal(invariance.value_range(0, 90, 30), [0, 30, 60, 90])
    np.testing.assert_array_equal(invariance.value_range(-10, 10, 5), [-10, -5, 0, 5, 10])
    np.testing.assert_array_equal(invariance.value_range(1.0, 1.2, 0.1), [1.0, 1.1, 1.2])
    np.testing.assert_array_equal(invariance.value_range(0, 95, 30), [0, 30, 60, 90])
    np.testing.assert_array_equal(invariance.value_range(0, 105, 30), [0, 30, 60, 90, 120])
    np.testing.assert_array_equal(invariance.value_range(5, 1, 1), [5])
    np.testing.assert_array_equal(invariance.value_range(5, 9, 0), [5])


def test_default_ranges_give_the_default_values_back():
    assert invariance.default_range("rotation") == (0.0, 350.0, 10.0)
    assert invariance.default_range("horizontal", 224) == (-60.0, 60.0, 5.0)
    assert invariance.default_range("vertical", 28) == (-8.0, 8.0, 1.0)
    assert invariance.default_range("scale") == (1.0, 1.8, 0.05)
    for kind in invariance.KINDS:
        for size in (28, 224):
            np.testing.assert_allclose(invariance.value_range(*invariance.default_range(kind, size)),
                                       invariance.default_values(kind, size))


def test_value_index_picks_the_nearest_value():
    values = np.array([0.0, 10.0, 20.0])
    assert [invariance.value_index(values, x) for x in (-3, 4, 6, 19, 99)] == [0, 0, 1, 2, 2]


def curve(layers: list[str], done: int) -> invariance.InvarianceResult:
    values = np.array([0.0, 90.0, 180.0])
    computed = np.arange(3) < done
    distance = {name: np.where(computed, np.array([0.0, 1.5, 2.5]) + i, np.nan) for i, name in enumerate(layers)}
    return invariance.InvarianceResult(
        kind="rotation", values=values, prob=np.where(computed, [0.5, 0.25, 0.125], np.nan),
        top_class=np.where(computed, [1, 0, 1], -1), distance=distance,
        relative_distance={name: d / 2 for name, d in distance.items()}, target=1, done=done, total=3,
        classes=["zero", "one"])


def test_curves_csv_has_an_image_column_and_leaves_missing_layers_empty():
    table = invariance.curves_csv([("boot", curve(["a"], 3)), ("bag", curve(["a", "b"], 2))])
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0] == ["image", "rotation_°", "target_probability", "top_class", "top_class_name", "distance_a",
                       "relative_distance_a", "distance_b", "relative_distance_b"]
    assert len(rows) == 1 + 3 + 2
    assert rows[1] == ["boot", "0", "0.5", "1", "one", "0", "0", "", ""]
    assert rows[3] == ["boot", "180", "0.125", "1", "one", "2.5", "1.25", "", ""]
    assert rows[5] == ["bag", "90", "0.25", "0", "zero", "1.5", "0.75", "2.5", "1.25"]
