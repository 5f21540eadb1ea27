"""Fig. 2 data of a scanned unit: receptive-field patches and deconvnet projections of its top hits, and CSVs."""

import csv
import io

import numpy as np
import pytest

from cnnviz.core.per_dataset import top_patches
from cnnviz.core.per_image import deconv


def _expected_patch(model, ds, hit, layer, channel):
    """(box, patch, projection) recomputed with the deconv module for one hit."""
    x = model.preprocess(ds.image(hit.image))
    box = deconv.receptive_box(model, layer, hit.position)
    pixels = np.asarray(model.deprocess(x), dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    unit = deconv.project_unit(model, x, layer=layer, channel=channel, position=hit.position, method="deconvnet")
    assert abs(unit.activation - hit.activation) <= 1e-4
    projection = deconv.crop_array(deconv.to_display(unit.image), box)
    return box, deconv.crop_array(pixels, box), projection


@pytest.mark.parametrize(("layer", "channel"), [("features.conv1", 3), ("features.pool3", 17), ("classifier.fc1", 5)])
def test_unit_patches_are_the_crops_and_projections_of_the_top_hits(scan_model, fashion_folder, full_index,
                                                                    layer, channel):
    patches = top_patches.unit_patches(scan_model, fashion_folder, full_index, layer, channel)
    hits = full_index.top(layer, channel=channel)
    assert len(patches) == 9 == len(hits)
    assert [p.rank for p in patches] == list(range(9))
    assert [p.hit for p in patches] == hits
    activations = [p.hit.activation for p in patches]
    assert activations == sorted(activations, reverse=True)
    for patch in patches:
        box, pixels, projection = _expected_patch(scan_model, fashion_folder, patch.hit, layer, channel)
        assert patch.box == box
        top, left, bottom, right = box
        assert patch.patch.shape == (bottom - top, right - left, 1) == patch.projection.shape
        assert patch.patch.dtype == np.float32 and patch.projection.dtype == np.float32
        np.testing.assert_allclose(patch.patch, pixels, atol=1e-6, rtol=0)
        np.testing.assert_allclose(patch.projection, projection, atol=1e-5, rtol=0)
        assert patch.patch.min() >= 0 and patch.patch.max() <= 1
        assert patch.projection.min() >= 0 and patch.projection.max() <= 1
        assert patch.label == fashion_folder.label_name(patch.hit.image)
        assert patch.name in (fashion_folder.files[patch.hit.image], fashion_folder.path(patch.hit.image).name)
    if layer == "classifier.fc1":
        assert all(p.box == (0, 0, 28, 28) for p in patches)


def test_patches_steps_give_the_same_patches(scan_model, fashion_folder, full_index):
    steps = top_patches.patches_steps(scan_model, fashion_folder, full_index, "features.conv1", [4, 1])
    seen = []
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        seen.append((step.done, step.total, list(step.partial), step.message))
        for channel, patches in step.partial.items():
            assert [p.hit for p in patches] == full_index.top("features.conv1", channel=channel)
    assert seen == [(1, 2, [4], "projecting unit 4"), (2, 2, [4, 1], "projecting unit 1")]
    assert sorted(result) == [1, 4]
    expected = top_patches.unit_patches(scan_model, fashion_folder, full_index, "features.conv1", 1)
    for a, b in zip(result[1], expected):
        assert a.hit == b.hit and a.box == b.box
        assert np.array_equal(a.patch, b.patch) and np.allclose(a.projection, b.projection, atol=1e-6)


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("layer", ["features.pool3", "classifier.fc1"])
def test_hits_csv_has_one_row_per_hit(full_index, fashion_folder, layer):
    text = top_patches.hits_csv(full_index, fashion_folder, layer, [2, 0])
    assert text.splitlines()[0] == "unit,rank,file,label,activation,row,col"
    rows = _rows(text)
    expected = [(c, r, h) for c in (2, 0) for r, h in enumerate(full_index.top(layer, channel=c))]
    assert len(rows) == len(expected) == 18
    for row, (channel, rank, hit) in zip(rows, expected):
        assert (int(row["unit"]), int(row["rank"])) == (channel, rank + 1)  # 1 = best in the table
        assert row["file"] in (fashion_folder.files[hit.image], str(fashion_folder.path(hit.image)))
        assert row["label"] == fashion_folder.label_name(hit.image)
        assert abs(float(row["activation"]) - hit.activation) <= 1e-5 * max(1.0, abs(hit.activation))
        if hit.position is None:
            assert row["row"] == row["col"] == ""
        else:
            assert (int(row["row"]), int(row["col"])) == hit.position
    every = _rows(top_patches.hits_csv(full_index, fashion_folder, layer))
    assert len(every) == sum(len(full_index.top(layer, channel=c)) for c in range(full_index.channels(layer)))


def test_units_csv_lists_the_statistics(full_index):
    layer = "features.pool3"
    stats = full_index.stats(layer)
    dead = full_index.dead_units(layer, 0.1)
    assert len(dead) > 0  # the bundled net has units that (nearly) never fire on Fashion-MNIST there
    units = [int(u) for u in dead] + [0]
    text = top_patches.units_csv(full_index, layer, units)
    assert text.splitlines()[0] == "unit,fire_rate,mean_max,max,selectivity"
    rows = _rows(text)
    assert [int(r["unit"]) for r in rows] == units
    for row in rows:
        unit = int(row["unit"])
        for name in ("fire_rate", "mean_max", "max", "selectivity"):
            value = float(getattr(stats, name)[unit])
            assert abs(float(row[name]) - value) <= 1e-5 * max(1.0, abs(value)), (unit, name)
