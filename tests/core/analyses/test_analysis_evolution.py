"""The evolution analysis: each cell is what a scan of that epoch's checkpoint finds, independently recomputed."""

import numpy as np
import pytest

from cnnviz.analyses import Source, evolution
from cnnviz.analyses.base import compute
from cnnviz.core import models, training
from cnnviz.core.per_dataset import scan
from cnnviz.core.per_dataset.top_patches import hit_patch
from cnnviz.core.per_image import filters
from cnnviz.core.training import evolution as core_evolution
from tests.core.analyses.figure_layout import assert_readable

SETTINGS = evolution.Settings(images=80, count=3)


@pytest.fixture(scope="module")
def result(two_runs):
    return compute(evolution.run(None, Source.of_runs(two_runs[:1]), SETTINGS))


def test_each_cell_is_the_strongest_patch_of_a_scan_of_that_checkpoint(result, two_runs):
    grid = result.evolution
    images = core_evolution.sample(training.read_splits(two_runs[0])["train"], 80)
    assert len(grid.images) == 80 and grid.images.files == images.files and grid.epochs == (1, 2)
    last = models.load(str(two_runs[0] / "epoch-002"))
    assert grid.layer == scan.default_layers(last)[-1]
    last_index = scan.build(last, images, layers=[grid.layer], k=1, workers=0)
    maxima = last_index.stats(grid.layer).max
    assert list(grid.units) == [int(u) for u in np.argsort(-maxima, kind="stable")[:3]]
    for e, epoch in enumerate(grid.epochs):
        model = models.load(str(two_runs[0] / f"epoch-{epoch:03d}"))
        index = scan.build(model, images, layers=[grid.layer], k=1, workers=0)
        for u, unit in enumerate(grid.units):
            hit = index.top(grid.layer, channel=unit)[0]
            expected = hit_patch(model, images, grid.layer, unit, 0, hit)
            cell = grid.cells[e][u]
            assert cell.hit == hit
            assert np.array_equal(cell.patch, expected.patch) and np.array_equal(cell.projection, expected.projection)
        assert np.array_equal(grid.filters[e], filters.weights(model, "features.conv1").numpy())
    assert not np.array_equal(grid.filters[0], grid.filters[1])


def test_the_scans_are_cached_in_the_run_and_reused(result, two_runs, monkeypatch):
    cached = sorted((two_runs[0] / core_evolution.CACHE_FOLDER).glob("*.npz"))
    assert len(cached) == 2

    def no_scan(*args, **kwargs):
        raise AssertionError("scanned again")

    monkeypatch.setattr(scan, "build_steps", no_scan)
    again = compute(evolution.run(None, Source.of_runs(two_runs[:1]), SETTINGS))
    assert again.evolution.units == compute(evolution.run(None, Source.of_runs(two_runs[:1]), SETTINGS)).evolution.units


def test_exports_and_figure(result, tmp_path):
    written = {p.name for p in result.export(tmp_path, ["npy"], stem="e")}
    assert written == {f"e-{n}.npy" for n in ("activations", "images", "patches", "projections", "filters")}
    activations = np.load(tmp_path / "e-activations.npy")
    assert activations.shape == (2, 3)
    assert activations[1, 0] == result.evolution.cells[1][0].hit.activation
    figure = evolution.figure(result, width_mm=170, dpi=100)
    assert len(figure.axes) == 2 * 4
    assert [ax.get_title() for ax in figure.axes[:4]] == [f"unit {u}" for u in result.evolution.units] + [
        "first filters"]
    assert_readable(figure)


def test_named_units_and_epochs_and_bad_ones(two_runs):
    named = compute(evolution.run(None, Source.of_runs(two_runs[:1]),
                                  evolution.Settings(images=80, units=(5, 0), epochs=(2,))))
    assert named.evolution.units == (5, 0) and named.evolution.epochs == (2,)
    with pytest.raises(ValueError, match="units: "):
        compute(evolution.run(None, Source.of_runs(two_runs[:1]), evolution.Settings(images=80, units=(9999,))))
    with pytest.raises(ValueError, match="no checkpoint of epoch 7"):
        compute(evolution.run(None, Source.of_runs(two_runs[:1]), evolution.Settings(images=80, epochs=(7,))))


def test_the_grid_picture_holds_every_cell_where_its_labels_point(result):
    picture, columns, rows = evolution.grid_picture(result)
    grid = result.evolution
    size = (max(c.patch.shape[0] for row in grid.cells for c in row),
            max(c.patch.shape[1] for row in grid.cells for c in row))
    assert len(columns) == len(grid.units) + 1 and len(rows) == len(grid.epochs)
    for e in range(len(grid.epochs)):
        for u in range(len(grid.units)):
            cell = evolution.rgba(evolution.cell_picture(grid.cells[e][u].projection, grid.cells[e][u].patch, size))
            top, left = round(rows[e] - cell.shape[0] / 2), round(columns[u] - cell.shape[1] / 2)
            assert np.array_equal(picture[top:top + cell.shape[0], left:left + cell.shape[1]], cell)
    assert picture.shape[2] == 4 and picture[..., 3].max() == 1.0
