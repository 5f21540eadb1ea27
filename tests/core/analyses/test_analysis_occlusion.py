"""The occlusion analysis: its maps equal the core's, its settings check themselves, its figure reads well."""

import numpy as np
import pytest
from figure_layout import assert_readable

from cnnviz.analyses import registry
from cnnviz.analyses.occlusion import Settings
from cnnviz.core.per_image import occlusion


@pytest.fixture(scope="module")
def result(model, source):
    analysis = registry.get("occlusion")
    return analysis.compute(model, source, Settings(window=8, stride=4, fill="noise", seed=3))


def test_maps_equal_the_core(model, source, result):
    expected = occlusion.occlude(model, source.x, window=8, stride=4, fill="noise", seed=3, layer="features.relu3")
    np.testing.assert_allclose(result.maps.prob, expected.prob, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.maps.top_class, expected.top_class)
    np.testing.assert_allclose(result.maps.feature, expected.feature, rtol=1e-5, atol=1e-4)
    assert result.maps.layer == "features.relu3" and not result.partial


def test_steps_carry_partial_results(model, source):
    steps = list(registry.get("occlusion").run(model, source, Settings(window=8, stride=1, batch_size=64)))
    assert steps and steps[-1].done == steps[-1].total == 21 * 21
    assert all(step.partial.partial for step in steps)


def test_caption_names_every_setting_and_what_it_resolved_to(result):
    fields = result.caption().fields
    assert fields["window"] == 8 and fields["fill"] == "noise" and fields["seed"] == 3
    assert fields["layer"] == "features.relu3" and fields["target_name"] == "Bag"
    assert "colormap" not in fields


@pytest.mark.parametrize(("changes", "message"), [
    ({"window": 0}, "window: 0 is outside 1…4096 px"),
    ({"fill": "white"}, "fill: 'white' is not one of mean, black, blur, noise"),
    ({"seed": 1.5}, "seed: 1.5 is not an integer"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_export_writes_arrays_and_commented_csv(result, tmp_path):
    written = result.export(tmp_path, ("npy", "csv"), stem="occ")
    assert {p.name for p in written} >= {"occ-prob.npy", "occ-top_class.npy", "occ-feature.npy", "occ-prob.csv",
                                         "occ-positions.csv"}
    np.testing.assert_array_equal(np.load(tmp_path / "occ-prob.npy"), result.maps.prob)
    text = (tmp_path / "occ-positions.csv").read_text(encoding="utf-8")
    assert text.startswith("# analysis: occlusion") and "# partial: no" in text


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("occlusion").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    assert_readable(figure)
