"""The deconv analysis: its projection equals the core's (and, for the gradient, autograd's), its settings check
themselves, its caption names the unit, its export keeps the pane's file names, its figure reads well."""

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import figures, registry
from cnnviz.analyses.deconv import Settings, defaults
from cnnviz.core import settings as analysis_settings
from cnnviz.core.per_image import deconv


@pytest.fixture(scope="module")
def analysis():
    return registry.get("deconv")


@pytest.fixture(scope="module")
def strongest(analysis, model, source):
    return analysis.compute(model, source)


@pytest.fixture(scope="module")
def chosen(analysis, model, source):
    return analysis.compute(model, source, Settings(layer="features.conv2", method="guided", display="abs",
                                                    channel=5, row=5, col=3))


@pytest.fixture(scope="module")
def fixed(analysis, model, source):
    """A deconvnet projection before any max pooling: the same for every image, with a note."""
    return analysis.compute(model, source, Settings(layer="features.conv1"))


def test_default_layer_is_the_last_convolution(model, analysis):
    assert defaults(model).layer == "features.conv3"
    assert analysis.settings_for(model) == Settings(layer="features.conv3")
    assert analysis.input == "image"


def test_the_strongest_unit_equals_the_core(model, source, strongest):
    expected = deconv.project_unit(model, source.x, layer="features.conv3", method="deconvnet")
    np.testing.assert_array_equal(strongest.projection, expected.image.numpy())
    assert (strongest.channel, strongest.position, strongest.box) == (expected.channel, expected.position, expected.box)
    assert strongest.activation == pytest.approx(expected.activation)
    np.testing.assert_array_equal(strongest.display, deconv.to_display(expected.image, "symmetric")[:, :, 0])
    np.testing.assert_array_equal(strongest.image, np.asarray(model.deprocess(source.x)))
    assert strongest.layer == "features.conv3" and not strongest.partial and strongest.note == ""


def test_a_chosen_unit_equals_the_core_and_its_field_is_the_hand_computed_one(model, source, chosen):
    expected = deconv.project_unit(model, source.x, layer="features.conv2", channel=5, position=(5, 3),
                                   method="guided")
    np.testing.assert_array_equal(chosen.projection, expected.image.numpy())
    np.testing.assert_array_equal(chosen.display, deconv.to_display(expected.image, "abs")[:, :, 0])
    assert chosen.channel == 5 and chosen.position == (5, 3)
    # conv1 5×5 (pad 2), pool 2, conv2 3×3 (pad 1): a conv2 unit at (r, c) sees rows 2r-4 … 2r+5.
    assert chosen.box == (6, 2, 16, 12)
    crop = np.asarray(model.deprocess(deconv.crop(source.x, chosen.box)))
    np.testing.assert_array_equal(deconv.crop_array(chosen.image, chosen.box), crop)


def test_the_gradient_method_is_autograd_of_the_unit(model, analysis, source):
    result = analysis.compute(model, source, Settings(layer="features.conv2", method="gradient", channel=7,
                                                      row=4, col=6))
    x = source.x.detach().clone().requires_grad_(True)
    unit = model.module.features[:4](x)[0, 7, 4, 6]
    (gradient,) = torch.autograd.grad(unit, x)
    np.testing.assert_allclose(result.projection, gradient[0].numpy(), rtol=1e-5, atol=1e-7)
    assert result.activation == pytest.approx(unit.item(), rel=1e-5)


def test_a_channel_alone_takes_its_strongest_position(model, analysis, source):
    result = analysis.compute(model, source, Settings(layer="features.relu2", channel=11))
    values = model.module.features[:5](source.x)[0].detach()
    assert result.position == deconv.channel_argmax(values, 11)
    assert result.caption().fields["unit"] == "channel's strongest"


def test_a_class_score_layer_names_the_class(model, analysis, source):
    result = analysis.compute(model, source, Settings(layer="classifier.fc2"))
    assert result.position is None and result.box == (0, 0, 28, 28)
    assert result.channel == int(model.logits(source.x)[0].argmax())
    fields = result.caption().fields
    assert fields["class_name"] == model.class_name(result.channel) == "Bag"
    assert fields["row"] is None and fields["col"] is None


def test_steps_announce_the_projection_and_return_the_result(model, analysis, source):
    steps = analysis.run(model, source, Settings(layer="features.conv2"))
    step = next(steps)
    assert (step.done, step.total, step.partial) == (0, 1, None) and "features.conv2" in step.message
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value.layer == "features.conv2"


def test_caption_names_the_settings_and_the_unit(strongest, chosen):
    fields = strongest.caption().fields
    assert fields["layer"] == "features.conv3" and fields["method"] == "deconvnet"
    assert fields["channel"] == strongest.channel and (fields["row"], fields["col"]) == strongest.position
    assert fields["unit"] == "strongest" and fields["display"] == "symmetric"
    assert fields["activation"] == pytest.approx(strongest.activation, rel=1e-3)
    top, left, bottom, right = strongest.box
    assert fields["field"] == f"{bottom - top}×{right - left} px from ({top}, {left})"
    chosen_fields = chosen.caption().fields
    assert chosen_fields["unit"] == "given" and chosen_fields["field"] == "10×10 px from (6, 2)"
    assert list(chosen_fields)[:6] == ["layer", "method", "display", "channel", "row", "col"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"method": "lrp"}, "method: 'lrp' is not one of deconvnet, guided, gradient"),
    ({"display": "log"}, "display: 'log' is not one of symmetric, abs"),
    ({"channel": -1}, "channel: -1 is outside 0…"),
    ({"row": 3}, "row, col: give both"),
    ({"col": 2.5}, "col: 2.5 is not an integer"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"layer": "features.conv9"}, "layer: 'features.conv9' is not a layer"),
    ({"layer": "features.conv2", "channel": 64}, r"channel: 64 is outside 0…63 \(features.conv2 has 64 channels\)"),
    ({"layer": "features.conv2", "row": 14, "col": 0}, r"row, col: \(14, 0\) is outside features.conv2's 14×14 map"),
    ({"layer": "classifier.fc1", "row": 0, "col": 0}, "row, col: classifier.fc1 has no map"),
])
def test_settings_that_do_not_fit_the_model_name_the_field(model, analysis, source, changes, message):
    with pytest.raises(ValueError, match=message):
        analysis.compute(model, source, Settings(**changes))


def test_command_line_texts_set_the_unit():
    settings = analysis_settings.from_texts(Settings, {"channel": "4", "row": "2", "col": "3", "method": "guided"})
    assert (settings.channel, settings.row, settings.col, settings.method) == (4, 2, 3, "guided")
    assert analysis_settings.from_texts(Settings, {"channel": "auto"}).channel is None


def test_export_keeps_the_panes_array_names(strongest, tmp_path):
    written = strongest.export(tmp_path)
    assert {p.name for p in written} == {"deconv-fmnist_bag-projection.npy", "deconv-fmnist_bag-box.npy",
                                         "deconv-fmnist_bag-box.csv"}
    projection = np.load(tmp_path / "deconv-fmnist_bag-projection.npy")
    assert projection.shape == (1, 28, 28)
    np.testing.assert_array_equal(projection, strongest.projection)
    np.testing.assert_array_equal(np.load(tmp_path / "deconv-fmnist_bag-box.npy"), strongest.box)
    text = (tmp_path / "deconv-fmnist_bag-box.csv").read_text(encoding="utf-8")
    assert text.startswith("# analysis: deconv") and "# unit: strongest" in text


def test_a_projection_before_max_pooling_carries_its_note_into_the_figure(fixed):
    assert fixed.note.startswith("The same for every image") and fixed.warning == ""
    fig = registry.get("deconv").figure(fixed, width_mm=250)
    drawn = " ".join(t.get_text().replace("\n", " ") for t in figures.texts(fig))
    assert "Note: The same for every image" in drawn
    assert_readable(fig)


@pytest.mark.parametrize(("width_mm", "which"), [(85, "strongest"), (85, "fixed"), (170, "strongest"),
                                                 (170, "fixed"), (250, "chosen")])
def test_figure_reads_well_at_every_width(analysis, request, width_mm, which):
    fig = analysis.figure(request.getfixturevalue(which), width_mm=width_mm)
    assert round(fig.get_figwidth() * fig.dpi) == round(width_mm / 25.4 * 300)
    assert len([ax for ax in fig.axes if ax.images]) == 4
    assert_readable(fig)


def test_figure_width_in_pixels(analysis, chosen):
    fig = analysis.figure(chosen, width_px=1200, dpi=150, caption=False)
    assert round(fig.get_figwidth() * fig.dpi) == 1200
    assert not [t for t in fig.texts if t.get_gid() == "caption"]
    assert_readable(fig)
