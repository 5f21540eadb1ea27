"""The activations analysis: its arrays equal a direct capture, its settings check themselves, its figure
reads well for maps and for a vector layer."""

import numpy as np
import pytest
from figure_layout import assert_readable

from cnnviz.analyses import Source, registry
from cnnviz.analyses.activations import Settings, grid_columns
from cnnviz.core import activations, images, layers, models


@pytest.fixture(scope="module")
def model():
    return models.load_default()


@pytest.fixture(scope="module")
def source(model):
    return Source.of_file(model, images.sample("fmnist_bag").path)


@pytest.fixture(scope="module")
def result(model, source):
    settings = Settings(layer="features.relu2", order="mean", scale="channel", limit=12)
    return registry.get("activations").compute(model, source, settings)


@pytest.fixture(scope="module")
def vector(model, source):
    return registry.get("activations").compute(model, source, Settings(layer="classifier.fc2", order="max"))


def test_arrays_equal_a_direct_capture(model, source, result):
    expected = layers.capture(model, source.x, layers="features.relu2")["features.relu2"][0]
    np.testing.assert_allclose(result.values, expected.numpy(), rtol=1e-6, atol=1e-6)
    means = expected.flatten(1).mean(dim=1).numpy()
    assert list(result.order) == [int(i) for i in np.argsort(-means, kind="stable")]
    assert result.channel == int(np.argmax(expected.flatten(1).max(dim=1).values))
    np.testing.assert_allclose(result.overlay, activations.upsample(expected[result.channel], (28, 28)))
    assert result.image.shape == (28, 28) and result.image.dtype == np.uint8
    assert result.stats.dead == [i for i in range(64) if not expected[i].any()]


def test_default_layer_is_the_first_convolution_and_steps_say_so(model, source):
    analysis = registry.get("activations")
    assert analysis.settings_for(model).layer == "features.conv1"
    steps = analysis.run(model, source)
    step = next(steps)
    assert (step.done, step.total, step.partial) == (0, 1, None) and "features.conv1" in step.message
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value.layer == "features.conv1" and stop.value.value.values.shape == (32, 28, 28)


def test_a_chosen_channel_is_enlarged_and_exported(model, source, tmp_path):
    result = registry.get("activations").compute(model, source, Settings(channel=5))
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"), stem="act")}
    assert {"act-activations.npy", "act-order.npy", "act-channel5.npy", "act-overlay.npy", "act-channel5.csv",
            "act-channels.csv"} <= written
    np.testing.assert_array_equal(np.load(tmp_path / "act-channel5.npy"), result.values[5])
    table = (tmp_path / "act-channels.csv").read_text(encoding="utf-8")
    assert table.startswith("# analysis: activations") and "channel,mean,max,zero_fraction,dead,name" in table


def test_vector_layers_name_their_class_units(vector):
    assert vector.is_vector and vector.values.shape == (10,)
    assert vector.channel == int(np.argmax(vector.values)) and vector.unit_name(8) == "Bag"
    assert set(vector.arrays()) == {"activations", "order"}
    assert vector.caption().fields["channel_name"] == "Bag"


def test_caption_names_settings_and_what_they_resolved_to(result):
    fields = result.caption().fields
    assert fields["layer"] == "features.relu2" and fields["order"] == "mean" and fields["scale"] == "channel"
    assert fields["shape"] == "64×14×14" and fields["dead"] == len(result.stats.dead)
    assert "colormap" not in fields and "opacity" not in fields and "limit" not in fields


@pytest.mark.parametrize(("changes", "message"), [
    ({"order": "median"}, "order: 'median' is not one of index, mean, max"),
    ({"scale": "image"}, "scale: 'image' is not one of layer, channel"),
    ({"opacity": 101}, "opacity: 101 is outside 0…100 %"),
    ({"limit": 0}, "limit: 0 is outside 1…1024"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_model_dependent_checks_name_the_field(model, source):
    analysis = registry.get("activations")
    with pytest.raises(ValueError, match="channel: 32 is outside 0…31"):
        analysis.compute(model, source, Settings(channel=32))
    with pytest.raises(ValueError, match="layer: 'nope' is not a layer"):
        analysis.compute(model, source, Settings(layer="nope"))


def test_grid_columns_keep_tiles_readable():
    assert grid_columns(64, 6.0) == 11
    assert grid_columns(128, 3.0) <= 10
    assert grid_columns(1, 6.0) == 1


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("activations").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    titles = [ax.get_title().replace("\n", " ") for ax in figure.axes]
    assert "(d) features.relu2: first 12 of 64 maps, by mean" in titles
    assert_readable(figure)


def test_vector_figure_reads_well(vector):
    figure = registry.get("activations").figure(vector, width_px=1200, dpi=150)
    assert round(figure.get_figwidth() * figure.dpi) == 1200
    assert any("Bag" in t.get_text() for ax in figure.axes for t in ax.get_yticklabels())
    assert_readable(figure)
