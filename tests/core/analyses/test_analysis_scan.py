"""The dataset-scan analysis: its statistics and hits equal the core scan's, its Fig. 2 pictures the core's
projections, its settings check themselves, its steps report images then units, its two stages resume a scan
and project chosen units, its figure reads well."""

import numpy as np
import pytest
from figure_layout import assert_readable
from PIL import Image

from cnnviz.analyses import Source, compute, registry
from cnnviz.analyses.scan import Settings, defaults, patch_steps, scan_steps, scanned_layers
from cnnviz.core.data import datasets, images
from cnnviz.core.model import models
from cnnviz.core.per_dataset import scan, top_patches
from cnnviz.core.progress import Cancelled

LAYERS = ("features.conv1", "features.relu3")
SHIFTS = ((0, 0), (1, 0), (0, 1), (-1, -1))
SETTINGS = Settings(layers=LAYERS, layer="features.relu3", k=4, sort="max", per_page=3, threshold=0.1,
                    batch_size=8, workers=0)


def write_tree(root, shifts=SHIFTS):
    """The bundled Fashion-MNIST samples, each shifted by ``shifts`` pixels, as a class-per-folder tree of
    PNGs (6 classes × 4 images)."""
    for sample in images.samples():
        if sample.kind != "fashion-mnist":
            continue
        folder = root / sample.label.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.asarray(images.load_image(sample.path).convert("L"))
        for number, shift in enumerate(shifts):
            Image.fromarray(np.roll(pixels, shift, axis=(0, 1))).save(folder / f"{number}.png")
    return root


@pytest.fixture(scope="module")
def model():
    return models.load_default()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return datasets.open_folder(write_tree(tmp_path_factory.mktemp("scan_tree")))


@pytest.fixture(scope="module")
def index(model, dataset):
    """The core's scan with the same parameters as :data:`SETTINGS`."""
    return scan.build(model, dataset, layers=list(LAYERS), k=4, batch_size=8, workers=0)


@pytest.fixture(scope="module")
def steps(model, dataset):
    """Every step of a run with :data:`SETTINGS`, and its result."""
    run = registry.get("scan").run(model, Source.of_dataset(dataset), SETTINGS)
    found = []
    try:
        while True:
            found.append(next(run))
    except StopIteration as stop:
        return found, stop.value


@pytest.fixture(scope="module")
def result(steps):
    return steps[1]


def test_statistics_equal_the_core_scan(index, result):
    stats = index.stats("features.relu3")
    for name in ("fire_rate", "mean_max", "max", "selectivity", "class_mean", "class_count"):
        np.testing.assert_array_equal(result.arrays()[name], getattr(stats, name))
    np.testing.assert_array_equal(np.flatnonzero(result.dead), index.dead_units("features.relu3"))
    assert result.dead.any(), "the bundled model's relu3 has units that never fire on this tree"
    nearly = np.setdiff1d(index.dead_units("features.relu3", 0.1), index.dead_units("features.relu3"))
    np.testing.assert_array_equal(np.flatnonzero(result.nearly_dead), nearly)
    np.testing.assert_array_equal(result.order, index.order("features.relu3", "max"))
    np.testing.assert_array_equal(result.channels, index.order("features.relu3", "max")[:3])
    assert result.stats.count == len(result.index.files) == 24 and not result.partial


def test_hits_equal_the_core_scan(dataset, index, result):
    for channel in range(index.channels("features.relu3")):
        hits = index.top("features.relu3", channel=channel)
        assert result.top_images[channel].tolist() == [h.image for h in hits]
        np.testing.assert_array_equal(result.top_activations[channel], [h.activation for h in hits])
        assert [tuple(p) for p in result.top_positions[channel]] == [h.position for h in hits]
    assert result.tables()["hits"] == top_patches.hits_csv(index, dataset, "features.relu3", result.channels.tolist())


def test_pictures_equal_the_core_projections(model, dataset, index, result):
    assert result.projections.shape[:2] == result.patches.shape[:2] == (3, 4)
    for slot, channel in enumerate(result.channels):
        for patch in top_patches.unit_patches(model, dataset, index, "features.relu3", int(channel)):
            for tiles, crop in ((result.projections, patch.projection), (result.patches, patch.patch)):
                tile = tiles[slot, patch.rank]
                np.testing.assert_array_equal(tile[~np.isnan(tile)], crop[:, :, 0].ravel())
    shown = result.patches[~np.isnan(result.patches)]
    assert shown.min() >= 0.0 and shown.max() <= 1.0


def test_steps_report_images_then_units(steps):
    found, _ = steps
    scanning = [s for s in found if s.message.startswith("scanning")]
    projecting = [s for s in found if s.message.startswith("projecting")]
    assert [s.done for s in scanning] == [8, 16, 24] and {s.total for s in scanning} == {24}
    assert [(s.done, s.total) for s in projecting] == [(1, 3), (2, 3), (3, 3)]
    assert all(s.partial.partial and s.partial.projections is None for s in scanning)
    assert scanning[0].partial.stats.count == 8
    first = projecting[0].partial
    assert not np.isnan(first.projections[0]).all() and np.isnan(first.projections[1:]).all()


def shown_pixels(tile):
    """The drawn (not blank) values of a tile, row by row: the same crop in tiles of different sizes."""
    return tile[~np.isnan(tile)]


def test_the_stages_resume_a_scan_and_project_chosen_units(model, dataset, result):
    source = Source.of_dataset(dataset)
    first = scan_steps(model, source, SETTINGS)
    partial = next(first).partial
    first.close()
    assert partial.partial and partial.index.scanned == 8 and partial.projections is None
    scanned = compute(scan_steps(model, source, SETTINGS, resume=partial.index))
    assert not scanned.partial and scanned.index.scanned == 24 and scanned.projections is None
    assert scanned.hit_patches == {} and scanned.channels.tolist() == result.channels.tolist()
    for name in ("fire_rate", "mean_max", "max", "selectivity"):
        np.testing.assert_array_equal(getattr(scanned.stats, name), getattr(result.stats, name))
    np.testing.assert_array_equal(scanned.top_images, result.top_images)
    chosen = [int(result.channels[1]), 7]
    projected = compute(patch_steps(model, source, scanned.index, SETTINGS, channels=chosen))
    assert projected.channels.tolist() == chosen and sorted(projected.hit_patches) == sorted(chosen)
    assert projected.settings == SETTINGS and projected.hits == top_patches.hits_csv(scanned.index, dataset,
                                                                                     "features.relu3", chosen)
    for rank in range(4):
        for name in ("projections", "patches"):
            np.testing.assert_array_equal(shown_pixels(getattr(projected, name)[0, rank]),
                                          shown_pixels(getattr(result, name)[1, rank]))
    assert [p.hit.image for p in projected.hit_patches[7]] == result.top_images[7].tolist()
    assert compute(patch_steps(model, source, scanned.index, SETTINGS, channels=[])).channels.tolist() == []


def test_patch_steps_check_the_index(model, dataset, index):
    source = Source.of_dataset(dataset)
    with pytest.raises(ValueError, match=r"layer: 'features\.conv2' is not in the scan"):
        compute(patch_steps(model, source, index, SETTINGS.replace(layer="features.conv2", layers=())))
    with pytest.raises(ValueError, match="channels: 999 out of range"):
        compute(patch_steps(model, source, index, SETTINGS, channels=[999]))
    assert compute(patch_steps(model, source, index, Settings(k=4, per_page=2))).layer == "features.conv1"


def test_closing_the_run_cancels_the_scan(model, dataset):
    with pytest.raises(Cancelled):
        compute(registry.get("scan").run(model, Source.of_dataset(dataset), SETTINGS), lambda done, total: False)


def test_caption_names_the_settings_and_what_they_resolved_to(result):
    fields = result.caption().fields
    assert fields["layers"] == list(LAYERS) and fields["layer"] == "features.relu3"
    assert fields["channels"] == result.channels.tolist() and fields["k"] == 4 and fields["sort"] == "max"
    assert fields["images_scanned"] == "24 of 24" and fields["dead_units"] == result.dead.sum() > 0
    assert "batch_size" not in fields and "workers" not in fields
    assert result.caption().dataset == result.head.dataset != ""


@pytest.mark.parametrize(("changes", "message"), [
    ({"k": 0}, "k: 0 is outside 1…1000 images"),
    ({"sort": "random"}, "sort: 'random' is not one of index, max, fire_rate, selectivity"),
    ({"threshold": 1.5}, "threshold: 1.5 is outside 0…1"),
    ({"channels": (-1,)}, "channels: -1 is outside 0…"),
    ({"layers": ("features.conv1",), "layer": "features.conv2"}, "layer: 'features.conv2' is not scanned"),
    ({"channels": (1, 2), "page": 2}, "page: the units are chosen by channels"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"channels": (3, 999)}, "channels: 999 out of range; features.relu3 has 128 units"),
    ({"page": 99}, "page: 99 is past the last page; features.relu3 has 128 units, 43 page"),
    ({"layers": ("features.nothing",), "layer": ""}, "layers: no layer called 'features.nothing'"),
])
def test_units_out_of_range_name_the_field(model, dataset, changes, message):
    with pytest.raises(ValueError, match=message):
        compute(registry.get("scan").run(model, Source.of_dataset(dataset), SETTINGS.replace(**changes)))


def test_chosen_channels_are_shown_in_their_order(model, dataset):
    chosen = SETTINGS.replace(layers=("features.relu3",), channels=(5, 2), k=2)
    result = compute(registry.get("scan").run(model, Source.of_dataset(dataset), chosen))
    assert result.channels.tolist() == [5, 2] and result.projections.shape[:2] == (2, 2)


def test_defaults_and_scanned_layers(model):
    assert defaults(model).layers == tuple(scan.default_layers(model)) == ("features.relu1", "features.relu2",
                                                                           "features.relu3")
    assert defaults(model).layer == "features.relu1"
    assert scanned_layers(model, Settings(layer="features.conv2"))[-1] == "features.conv2"
    assert scanned_layers(model, Settings(layer="features.relu2")) == list(defaults(model).layers)
    assert registry.get("scan").input == "dataset"


def test_export_writes_arrays_and_tables(result, tmp_path):
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"), stem="scan")}
    assert written >= {"scan-fire_rate.npy", "scan-fire_rate.csv", "scan-selectivity.npy", "scan-dead.npy",
                       "scan-top_images.npy", "scan-top_positions.npy", "scan-projections.npy", "scan-patches.npy",
                       "scan-channels.csv", "scan-hits.csv", "scan-units.csv"}
    np.testing.assert_array_equal(np.load(tmp_path / "scan-fire_rate.npy"), result.stats.fire_rate)
    np.testing.assert_array_equal(np.load(tmp_path / "scan-patches.npy"), result.patches)
    hits = (tmp_path / "scan-hits.csv").read_text(encoding="utf-8")
    assert hits.startswith("# analysis: scan") and hits.endswith(result.hits)
    units = (tmp_path / "scan-units.csv").read_text(encoding="utf-8").splitlines()
    assert "unit,fire_rate,mean_max,max,selectivity" in units and len([u for u in units if u[0].isdigit()]) == 128


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """Three grey squares in one folder: a dataset without labels."""
    root = tmp_path_factory.mktemp("scan_flat")
    for number in range(3):
        Image.fromarray(np.full((28, 28), 60 * number, np.uint8)).save(root / f"{number}.png")
    return Source.of_dataset(datasets.open_folder(root))


def test_selectivity_needs_labels(model, flat):
    with pytest.raises(ValueError, match="sort: selectivity needs class labels"):
        compute(registry.get("scan").run(model, flat, SETTINGS.replace(sort="selectivity")))
    result = compute(registry.get("scan").run(model, flat, SETTINGS.replace(sort="fire_rate")))
    assert result.stats.selectivity is None and "selectivity" not in result.arrays()
    with pytest.raises(ValueError, match="sort: selectivity needs class labels"):
        compute(patch_steps(model, flat, result.index, SETTINGS.replace(sort="selectivity")))
    assert result.tables()["units"].startswith("unit,fire_rate,mean_max,max\n")


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("scan").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    assert_readable(figure)


def test_unlabelled_partial_figure_reads_well_in_pixels(model, flat):
    partial = next(registry.get("scan").run(model, flat, SETTINGS.replace(sort="fire_rate"))).partial
    assert partial.partial and partial.projections is None
    figure = registry.get("scan").figure(partial, width_px=900, dpi=100)
    assert round(figure.get_figwidth() * figure.dpi) == 900
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert "not projected yet" in texts and "needs class labels" in texts
    assert_readable(figure)
