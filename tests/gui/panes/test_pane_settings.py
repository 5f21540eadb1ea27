"""Every tool pane's settings: each control that changes what the pane shows is a named setting, and
``settings()`` round-trips through ``apply_settings()`` with a changed value showing in its widget."""

import pytest

from cnnviz.gui.runtime.control_state import read

CHANGES = {
    "filters": {"scale": "layer", "colormap": "magma"},
    "activations": {"order": "max", "opacity": 33},
    "deconvnet": {"method": "guided", "display": "abs", "top9": True},
    "dream": {"iterations": 7, "step_size": 0.05, "octaves": 2, "jitter": 4, "clamp": False},
    "occlusion": {"fill": "black", "window": 9, "stride": 3, "seed": 5},
    "attribution": {"methods": ["gradient", "guided"], "smoothgrad_samples": 7, "opacity": 35,
                    "integrated_gradients_baseline": "mean", "classes": [4, 3, 2, 1]},
    "invariance": {"kind": "scale", "start": 0.5, "stop": 1.5, "step": 0.25, "crop": True},
    "dataset": {"sort": "max", "per_page": 12, "threshold": 0.25},
    "features": {"pooling": "max", "perplexity": 12.0, "seed": 3},
}
"""A changed value of some settings of each pane (the others keep theirs)."""

WIDGETS = {
    "filters": lambda pane: pane.form.widget("colormap").name(),
    "activations": lambda pane: pane.form.widget("opacity").value(),
    "deconvnet": lambda pane: pane.form.widget("method").currentData(),
    "dream": lambda pane: pane.form.widget("iterations").value(),
    "occlusion": lambda pane: pane.form.value("window"),
    "attribution": lambda pane: pane.forms["smoothgrad"].value("smoothgrad_samples"),
    "invariance": lambda pane: (pane.kind, pane.ranges.step_spin.value()),
    "dataset": lambda pane: pane.fig2.per_page_spin.value(),
    "features": lambda pane: pane.form.widget("perplexity").value(),
}
SHOWN = {"filters": "magma", "activations": 33, "deconvnet": "guided", "dream": 7, "occlusion": 9,
         "attribution": 7, "invariance": ("scale", 0.25), "dataset": 12, "features": 12.0}
"""What the widget of one changed setting shows afterwards."""


@pytest.mark.parametrize("key", list(CHANGES))
def test_settings_round_trip_and_show_in_the_widgets(loaded_window, key):
    pane = loaded_window.panes[key]
    before = pane.settings()
    assert before["layer"] == pane.layer and set(CHANGES[key]) <= set(before)
    assert pane.apply_settings(before) == {} and pane.settings() == before
    changed = before | CHANGES[key]
    assert pane.apply_settings(changed) == {}
    assert pane.settings() == changed
    assert WIDGETS[key](pane) == SHOWN[key]
    assert all(read(pane.controls.controls[name]) == value for name, value in CHANGES[key].items())
    assert pane.apply_settings(before) == {} and pane.settings() == before


def test_a_bad_value_or_name_is_reported_and_the_others_are_set(loaded_window):
    pane = loaded_window.panes["occlusion"]
    problems = pane.apply_settings({"fill": "plaid", "seed": 11, "colour": 1}, strict=False)
    assert set(problems) == {"fill", "colour"} and pane.form.value("seed") == 11
    with pytest.raises(KeyError, match="colour"):
        pane.apply_settings({"colour": 1})


def test_the_dream_cycle_is_a_setting(loaded_window):
    pane = loaded_window.panes["dream"]
    layers = [choice.name for choice in pane.picker.choices][:2]
    assert pane.apply_settings({"cycle": [f"{layers[0]}:0.1", f"{layers[1]}:0.2"]}) == {}
    assert pane.form.cycle.pairs() == [(layers[0], 0.1), (layers[1], 0.2)]
    assert pane.box().cycle == (f"{layers[0]}:0.1", f"{layers[1]}:0.2")
    assert "cycle" in pane.apply_settings({"cycle": ["no.such.layer:0.1"]}, strict=False)


def test_a_filters_layer_and_its_input_channel_are_set_together(loaded_window):
    pane = loaded_window.panes["filters"]
    deeper = pane.picker.choices[-1].name
    assert pane.apply_settings({"layer": deeper, "view": "channel", "in_channel": 2}) == {}
    assert pane.layer == deeper and pane.form.widget("in_channel").value() == 2 and pane.form.value("view") == "channel"
