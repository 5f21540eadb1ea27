"""The top9 analysis: its units equal the core's top units (the channels with the largest peaks, checked against
a plain forward pass), its tiles hold each field's input and projection, its export keeps the pane's file names,
its figure reads well."""

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import figures, registry
from cnnviz.analyses.deconv import display_array
from cnnviz.analyses.top9 import Settings, defaults, pair, rgba
from cnnviz.core.per_image import deconv


@pytest.fixture(scope="module")
def analysis():
    return registry.get("top9")


@pytest.fixture(scope="module")
def result(analysis, model, source):
    return analysis.compute(model, source, Settings(layer="features.conv2", method="guided"))


@pytest.fixture(scope="module")
def fixed(analysis, model, source):
    """Deconvnet projections before any max pooling: the same for every image, with a note."""
    return analysis.compute(model, source, Settings(layer="features.conv1"))


def test_default_layer_is_the_last_convolution(model, analysis):
    assert defaults(model).layer == "features.conv3"
    assert analysis.settings_for(model) == Settings(layer="features.conv3")


def test_units_equal_the_core(model, source, result):
    units = deconv.top_units(model, source.x, layer="features.conv2", k=9, method="guided")
    np.testing.assert_array_equal(result.projections, np.stack([u.image.numpy() for u in units]))
    assert result.channels.tolist() == [u.channel for u in units]
    np.testing.assert_allclose(result.activations, [u.activation for u in units], rtol=1e-6)
    assert [tuple(p) for p in result.positions.tolist()] == [u.position for u in units]
    assert [tuple(b) for b in result.boxes.tolist()] == [u.box for u in units]
    assert result.layer == "features.conv2" and not result.partial


def test_the_channels_are_the_nine_largest_peaks_of_a_plain_forward_pass(model, source, result):
    maps = model.module.features[:4](source.x)[0].detach()
    peaks = maps.flatten(1).max(dim=1).values
    assert result.channels.tolist() == peaks.argsort(descending=True)[:9].tolist()
    np.testing.assert_allclose(result.activations, peaks[result.channels].numpy(), rtol=1e-6)
    for (row, col), channel in zip(result.positions, result.channels):
        assert maps[channel, row, col] == peaks[channel]


def test_tiles_hold_each_fields_input_and_projection(model, source, result):
    image = np.asarray(model.deprocess(source.x))
    boxes = [tuple(b) for b in result.boxes.tolist()]
    patches = [deconv.crop_array(image, b).astype(np.float32) / 255 for b in boxes]
    shown = [deconv.crop_array(display_array(torch.from_numpy(p), "symmetric"), b)
             for p, b in zip(result.projections, boxes)]
    np.testing.assert_array_equal(result.patch_tiles, deconv.field_tiles(patches, boxes, (28, 28)))
    np.testing.assert_array_equal(result.projection_tiles, deconv.field_tiles(shown, boxes, (28, 28)))
    assert result.patch_tiles.shape == (9, 10, 10)
    for tile, patch in zip(result.patch_tiles, patches):
        assert np.count_nonzero(~np.isnan(tile)) == patch.size


def test_a_vector_layer_has_no_positions_and_names_classes(model, analysis, source):
    scores = analysis.compute(model, source, Settings(layer="classifier.fc2", method="gradient"))
    assert scores.positions is None and "positions" not in scores.arrays()
    assert scores.channels[0] == int(model.logits(source.x)[0].argmax())
    assert scores.unit_names[0] == "Bag" and len(scores.channels) == 9
    assert scores.boxes.tolist() == [[0, 0, 28, 28]] * 9
    assert scores.tables()["units"].splitlines()[1].startswith(f"1,{scores.channels[0]},Bag,")


def test_steps_announce_the_projections(model, analysis, source):
    steps = list(analysis.run(model, source, Settings(layer="features.relu1")))
    assert len(steps) == 1 and (steps[0].done, steps[0].total, steps[0].partial) == (0, 1, None)
    assert "features.relu1" in steps[0].message


def test_caption_names_the_layer_and_the_channels(result):
    fields = result.caption().fields
    assert fields == {"layer": "features.conv2", "method": "guided", "display": "symmetric",
                      "channels": result.channels.tolist()}


@pytest.mark.parametrize(("changes", "message"), [
    ({"method": "lrp"}, "method: 'lrp' is not one of deconvnet, guided, gradient"),
    ({"display": "log"}, "display: 'log' is not one of symmetric, abs"),
    ({"layer": 3}, "layer: 3 is not text"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_an_unknown_layer_names_the_layers(model, analysis, source):
    with pytest.raises(ValueError, match=r"layer: 'conv9' is not a layer.*features\.conv1"):
        analysis.compute(model, source, Settings(layer="conv9"))


def test_export_keeps_the_panes_array_names(result, tmp_path):
    written = result.export(tmp_path, ("npy", "csv"))
    names = {p.name for p in written}
    assert {f"top9-fmnist_bag-{n}.npy" for n in ("projections", "channels", "boxes", "activations",
                                                  "positions")} <= names
    assert "top9-fmnist_bag-units.csv" in names and "top9-fmnist_bag-projections.csv" not in names
    projections = np.load(tmp_path / "top9-fmnist_bag-projections.npy")
    assert projections.shape == (9, 1, 28, 28)
    assert np.load(tmp_path / "top9-fmnist_bag-channels.npy").tolist() == result.channels.tolist()
    lines = (tmp_path / "top9-fmnist_bag-units.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# analysis: top9"
    header = lines.index("rank,channel,class,activation,row,col,top,left,bottom,right")
    first = lines[header + 1].split(",")
    assert first[:2] == ["1", str(result.channels[0])] and first[4:] == [
        str(v) for v in (*result.positions[0], *result.boxes[0])]


def test_pair_puts_the_tiles_side_by_side_clear_outside_the_field():
    projection = np.full((4, 4), 0.5, dtype=np.float32)
    projection[:, :2] = np.nan
    patch = np.ones((4, 4, 3), dtype=np.float32)
    both = pair(projection, patch)
    assert both.shape == (4, 9, 4)
    assert both[:, :2, 3].tolist() == [[0.0, 0.0]] * 4 and both[0, 2].tolist() == [0.5, 0.5, 0.5, 1.0]
    assert both[:, 4, 3].tolist() == [0.0] * 4 and both[0, 5:, 3].tolist() == [1.0] * 4
    assert rgba(patch)[..., 3].all()


def test_a_note_goes_below_the_units(fixed):
    assert fixed.note.startswith("The same for every image")
    fig = registry.get("top9").figure(fixed, width_mm=170)
    drawn = " ".join(t.get_text().replace("\n", " ") for t in figures.texts(fig))
    assert "Note: The same for every image" in drawn
    assert_readable(fig)


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(analysis, result, width_mm):
    fig = analysis.figure(result, width_mm=width_mm)
    assert round(fig.get_figwidth() * fig.dpi) == round(width_mm / 25.4 * 300)
    titled = [ax.get_title() for ax in fig.axes if ax.images]
    assert titled[0] == f"1: ch {result.channels[0]} = {result.activations[0]:#.3g}".rstrip(".") and len(titled) == 9
    assert_readable(fig)


def test_figure_width_in_pixels(analysis, fixed):
    fig = analysis.figure(fixed, width_px=1000, dpi=150, caption=False)
    assert round(fig.get_figwidth() * fig.dpi) == 1000
    assert_readable(fig)
