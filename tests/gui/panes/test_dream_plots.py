"""The Deep dream plots name what the curves used: a setting changed mid-run is marked on the curve
and named in the legend; a new model clears the plots, a new image names the runs' earlier image;
the probability title names the class the curves shown plot."""

import numpy as np
from PIL import Image
from test_dream_pane import RUN_MS, dream_pane, records, run_to_end, stop

from cnnviz.analyses.dream import Settings
from cnnviz.gui.panes.dream.settings_used import StepSetting, run_label, step_setting
from cnnviz.gui.runtime.model_spec import ModelSpec


def choose_layer(pane, layer: str) -> None:
    index = pane.picker.findData(layer)
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def legend_text(pane, run) -> str:
    return pane.plots.objective_plot.getPlotItem().legend.getLabel(run.objective_item).text


def probability_title(pane) -> str:
    return pane.plots.probability_plot.getPlotItem().titleLabel.text


def test_a_layer_and_step_change_mid_run_is_marked_on_the_curve_and_named_in_the_legend(
        loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane)
    old_layer = pane.layer
    new_layer = next(c.name for c in pane.picker.choices if not c.is_vector and c.name != old_layer)
    pane.form.widget("step_size").set_value(0.01)
    pane.start_button.click()
    qtbot.waitUntil(lambda: len(records(pane)) >= 4, timeout=RUN_MS)
    pane.form.widget("step_size").spin.setValue(0.05)
    choose_layer(pane, new_layer)
    qtbot.waitUntil(lambda: sum(r.layer == new_layer for r in records(pane)) >= 4, timeout=RUN_MS)
    stop(pane, qtbot)

    (run,) = pane.plots.runs
    steps = records(pane)
    used = [(r.layer, r.step_size) for r in steps]
    switches = [i for i in range(1, len(used)) if used[i] != used[i - 1]]
    assert used[0] == (old_layer, 0.01) and used[-1] == (new_layer, 0.05) and 1 <= len(switches) <= 2
    marks = [line.value() for plot, line in run.markers if plot is pane.plots.objective_plot]
    assert marks == [i - 0.5 for i in switches]
    assert [index for index, _label in run.changes] == switches
    assert new_layer in run.changes[-1][1] and "step 0.05" in " ".join(label for _i, label in run.changes)
    text = legend_text(pane, run)
    assert text.startswith(f"{old_layer} · step 0.01 → ") and new_layer in text and "0.05" in text
    assert run.objective_item.name() == text
    layer_switch = next(i for i in switches if used[i][0] == new_layer)
    connect = run.objective_item.opts["connect"]
    assert not connect[layer_switch - 1] and connect[:layer_switch - 1].all() and connect[layer_switch:-1].all()


def test_a_new_image_names_the_earlier_runs_and_a_new_model_clears_the_plots(
        loaded_window, show_pane, settle, qtbot):
    pane = dream_pane(loaded_window, show_pane, iterations=3)
    first_image = loaded_window.state.image_name
    run_to_end(pane, qtbot)
    (run,) = pane.plots.runs
    assert legend_text(pane, run) == f"{pane.layer} · step 0.02"
    loaded_window.controller.set_image(Image.fromarray(np.full((28, 28), 90, np.uint8), mode="L"), "grey")
    settle(loaded_window)
    assert legend_text(pane, run) == f"on {first_image}: {pane.layer} · step 0.02"
    run_to_end(pane, qtbot)
    assert [legend_text(pane, r).startswith("on ") for r in pane.plots.runs] == [True, False]

    loaded_window.controller.load_model(ModelSpec())
    settle(loaded_window)
    assert pane.plots.runs == [] and pane.plots.curve_counts() == (0, 0)


def test_the_probability_title_names_the_class_of_the_runs_shown(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane, iterations=2)
    names = pane.class_names()
    pane.form.target.setCurrentIndex(1)
    run_to_end(pane, qtbot)
    assert probability_title(pane).startswith(f"Probability of {names[1]}<br>")
    pane.form.target.setCurrentIndex(2)
    assert probability_title(pane).startswith(f"Probability of {names[1]}<br>")  # what the curve shows
    run_to_end(pane, qtbot)
    assert probability_title(pane).startswith("Probability of each run's class")
    assert [legend_text(pane, r).endswith(f"P({names[k]})") for r, k in zip(pane.plots.runs, (1, 2))] == [True] * 2
    pane.clear_button.click()
    assert probability_title(pane).startswith(f"Probability of {names[2]}<br>")


def test_a_run_label_elides_the_middle_of_many_changes():
    steps = [Settings(layer="a", step_size=size) for size in (0.01, 0.02, 0.03, 0.04, 0.05)]
    settings = [step_setting(chosen) for chosen in steps]
    assert run_label(settings[:2]) == "a · step 0.01 → step 0.02"
    assert run_label(settings) == "a · step 0.01 → step 0.02 → … 2 more … → step 0.05"
    assert step_setting(Settings(layer="a", objective="channel", channel=3, target=1), ("x", "y")) == \
        StepSetting("a", "0.02", "channel 3", "y", "channel")
    assert step_setting(Settings(layer="a", cycle=("a:0.05", "b:0.1"))) == \
        StepSetting("cycle a 0.05, b 0.1", "", "", "top-1 class", "l2")
