"""The Deep dream pane: settings changed while a run goes on apply from the next step; pause, resume
and stop; one curve per run; saving, "use as input" and a diverging run; the result shown as the dream
analysis's result, whose report figure is the export; the settings column built from the analysis's
Settings."""

import time

import numpy as np
from PIL import Image

from cnnviz.analyses import dream, registry
from cnnviz.analyses.base import Source
from cnnviz.analyses.dream import DreamAnalysis
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import dream as core_dream
from cnnviz.gui.widgets.figure_render import ExportOptions
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.settings_form import SettingsForm

RUN_MS = 30_000
TILE_S = 0.1
"""How long each tile of the slowed-down tiled run takes at least, in seconds."""
CANCEL_S = 0.5
"""The project's limit on how long a long job may take to stop once asked."""


def dream_pane(window, show_pane, iterations: int = 100_000):
    pane = show_pane(window, "dream")
    pane.form.widget("octaves").setValue(1)
    pane.form.widget("iterations").setValue(iterations)
    return pane


def records(pane) -> tuple:
    """The steps of the result shown (none before a run)."""
    return pane.result.records if pane.result is not None else ()


def run_to_end(pane, qtbot) -> None:
    pane.start_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=RUN_MS)


def stop(pane, qtbot) -> None:
    pane.stop_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=RUN_MS)


def switch_index(records, value_of, old, new) -> int:
    """Index of the first record with ``new``; asserts every earlier one had ``old`` and every later
    one ``new``."""
    values = [value_of(record) for record in records]
    first = values.index(new)
    assert set(values[:first]) == {old} and set(values[first:]) == {new}
    return first


def test_step_size_and_layer_changed_while_running_apply_from_the_next_step(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane)
    old_layer = pane.layer
    new_layer = next(c.name for c in pane.picker.choices if not c.is_vector and c.name != old_layer)
    pane.form.widget("step_size").set_value(0.01)
    pane.start_button.click()
    qtbot.waitUntil(lambda: len(records(pane)) >= 5, timeout=RUN_MS)
    before = pane.box()
    pane.form.widget("step_size").spin.setValue(0.05)
    index = pane.picker.findData(new_layer)
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)
    changed_at = len(records(pane))
    assert (before.layer, before.step_size) == (old_layer, 0.01)  # swapped whole, never changed
    assert isinstance(pane.box(), dream.Settings) and (pane.box().layer, pane.box().step_size) == (new_layer, 0.05)
    qtbot.waitUntil(lambda: sum(r.step_size == 0.05 and r.layer == new_layer for r in records(pane)) >= 5,
                    timeout=RUN_MS)
    stop(pane, qtbot)

    steps = records(pane)
    assert [r.index for r in steps] == list(range(len(steps)))
    step_switch = switch_index(steps, lambda r: r.step_size, 0.01, 0.05)
    layer_switch = switch_index(steps, lambda r: r.layer, old_layer, new_layer)
    for switch in (step_switch, layer_switch):
        assert changed_at <= switch <= len(steps) - 5
    assert loaded_window.state.layer == new_layer
    result = pane.analysis_result()
    assert result.partial and (result.settings.layer, result.settings.step_size) == (new_layer, 0.05)


def test_pause_resume_and_stop_even_while_paused_leave_the_model_clean(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane)
    model = loaded_window.state.model
    pane.start_button.click()
    qtbot.waitUntil(lambda: len(records(pane)) >= 3, timeout=RUN_MS)
    pane.pause_button.click()
    assert pane.paused and pane.pause_button.text() == "Resume"
    qtbot.wait(200)
    paused_at = len(records(pane))
    qtbot.wait(400)
    assert len(records(pane)) == paused_at and pane.running
    pane.pause_button.click()
    assert pane.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(records(pane)) >= paused_at + 5, timeout=RUN_MS)
    pane.pause_button.click()
    stop(pane, qtbot)
    assert not pane.paused and not pane.stop_button.isEnabled()
    assert hook_count(model.module) == 0
    assert all(parameter.grad is None for parameter in model.module.parameters())

    pane.start_button.click()
    qtbot.waitUntil(lambda: len(records(pane)) >= 2, timeout=RUN_MS)
    pane.pause_button.click()
    stop(pane, qtbot)
    assert hook_count(model.module) == 0


def test_each_run_adds_a_curve_to_each_plot_and_clear_removes_them(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane, iterations=8)
    pane.form.widget("prob_every").setValue(2)
    run_to_end(pane, qtbot)
    pane.form.widget("step_size").set_value(0.2)
    run_to_end(pane, qtbot)
    assert pane.plots.curve_counts() == (2, 2)
    first, second = pane.plots.runs
    assert first.steps == list(range(8)) and first.prob_steps == [0, 2, 4, 6]
    assert "0.2" in second.objective_item.name()
    assert "every 2 steps" in pane.plots.probability_plot.getPlotItem().titleLabel.text
    pane.clear_button.click()
    assert pane.plots.curve_counts() == (0, 0)


def test_save_writes_the_full_resolution_image_and_use_as_input_makes_it_current(
        loaded_window, show_pane, settle, qtbot, tmp_path):
    picture = Image.fromarray((np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64), mode="L")
    loaded_window.controller.set_image(picture, "stripes")
    settle(loaded_window)
    pane = dream_pane(loaded_window, show_pane, iterations=3)
    pane.form.widget("work_at").setCurrentIndex(pane.form.widget("work_at").findData("full"))
    run_to_end(pane, qtbot)
    assert pane.result.image.shape[:2] == (48, 64) and len(records(pane)) == 3
    saved = pane.save_image(tmp_path / "dream")
    assert saved.suffix == ".png" and Image.open(saved).size == (64, 48)
    with Image.open(saved) as image:
        np.testing.assert_array_equal(np.asarray(image), pane.view.canvas.image)

    expected = pane.view.canvas.image
    pane.use_button.click()
    assert loaded_window.state.image_name == "dream of stripes"
    np.testing.assert_array_equal(np.asarray(loaded_window.state.image), expected)
    settle(loaded_window)


def test_a_diverging_run_stops_with_a_message_and_keeps_a_finite_image(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane, iterations=2000)
    pane.form.widget("normalize").setChecked(False)
    pane.form.widget("clamp").setChecked(False)
    pane.form.widget("step_size").set_value(10.0)
    run_to_end(pane, qtbot)
    assert records(pane)[-1].message and len(records(pane)) < 2000
    assert "diverged" in pane.info.text()
    assert pane.result.message == records(pane)[-1].message and not pane.result.partial
    np.testing.assert_array_equal(pane.view.canvas.image, pane.result.image)
    assert np.isfinite(pane.view.canvas.image.astype(float)).all()


def test_a_vector_layer_disables_octaves_and_tiles_and_dreams_one_octave(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "dream")
    pane.form.widget("octaves").setValue(3)
    pane.form.widget("iterations").setValue(3)
    vector = next(c.name for c in pane.picker.choices if c.is_vector and not c.class_scores)
    index = pane.picker.findData(vector)
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)
    controls = pane.form
    assert pane.layer == vector
    assert not controls.widget("octaves").isEnabled() and not controls.widget("octave_scale").isEnabled()
    assert not controls.widget("work_at").isEnabled() and not controls.full_resolution
    run_to_end(pane, qtbot)
    assert [r.layer for r in records(pane)] == [vector] * 3 and [r.octave for r in records(pane)] == [0, 0, 0]
    assert len(pane.result.sizes) == 1 and pane.result.settings.octaves == 3
    spatial = next(c.name for c in pane.picker.choices if not c.is_vector)
    pane.picker.setCurrentIndex(pane.picker.findData(spatial))
    pane.picker.activated.emit(pane.picker.findData(spatial))
    assert controls.widget("octaves").isEnabled() and controls.settings(spatial).octaves == 3


def test_the_overlap_box_stays_below_the_tile(loaded_window, show_pane):
    controls = show_pane(loaded_window, "dream").form
    tile, overlap = controls.widget("tile"), controls.widget("overlap")
    tile.setValue(40)
    assert overlap.maximum() == 39
    overlap.setValue(1024)
    assert overlap.value() == 39 and tile.minimum() == 32
    assert (controls.settings("features.relu2").tile, controls.settings("features.relu2").overlap) == (40, 39)


def test_the_last_run_is_the_dream_analysis_result_and_its_report_figure_is_the_export(
        loaded_window, show_pane, qtbot, tmp_path):
    pane = dream_pane(loaded_window, show_pane, iterations=4)
    assert pane.analysis_result() is None
    assert pane.default_layer(pane.picker.choices) == dream.defaults(loaded_window.state.model).layer == pane.layer
    pane.form.widget("octaves").setValue(2)
    pane.form.widget("prob_every").setValue(2)
    run_to_end(pane, qtbot)
    pane.form.widget("step_size").set_value(0.05)
    pane.form.widget("jitter").setValue(3)
    run_to_end(pane, qtbot)
    state, result = loaded_window.state, pane.analysis_result()
    assert isinstance(result, DreamAnalysis) and not result.partial
    controls = pane.settings()
    for name in ("objective", "iterations", "octaves", "prob_every", "jitter", "step_size", "work_at", "start"):
        assert getattr(result.settings, name) == controls[name], name
    assert result.settings.layer == result.layer == pane.layer
    assert result.settings.target == result.target == pane.form.target.currentData()
    assert result.settings.guide == pane.form.guide_path()
    shown = pane.plots.data()
    for name in ("objective", "probability"):
        np.testing.assert_array_equal(result.arrays()[f"run1-{name}"], shown[f"run2-{name}"])
    np.testing.assert_array_equal(result.image, pane.view.canvas.image)
    np.testing.assert_array_equal(result.start, image_array(state.model.deprocess(state.input_tensor)))
    assert len(result.records) == result.total == 8 and len(result.sizes) == 2

    ran = dream.ANALYSIS.compute(state.model, Source(state.image_name, state.input_tensor, state.image),
                                 result.settings)
    assert ran.caption() == result.caption()
    np.testing.assert_allclose(ran.objective, result.objective, rtol=1e-4)
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    expected = registry.get("dream").figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert abs(image.size[0] - expected[0]) <= 1 and abs(image.size[1] - expected[1]) <= 1
    assert result.caption().checksum in (tmp_path / "x.svg").read_text(encoding="utf-8")


def test_the_settings_column_is_built_from_the_analysis_settings_and_saved_by_their_names(loaded_window, show_pane):
    pane = show_pane(loaded_window, "dream")
    forms = list(pane.form.forms.values())
    assert all(isinstance(form, SettingsForm) and form.settings_cls is dream.Settings for form in forms)
    fields = [name for form in forms for name in form.names]
    assert sorted(fields) == sorted(set(dream.Settings.__dataclass_fields__) - {"layer", "target"})
    assert set(pane.settings()) == {"layer", *fields}
    assert pane.apply_settings({"iterations": 7, "step_size": 0.05, "cycle": [f"{pane.layer}:0.03"]}) == {}
    settings = pane.form.settings(pane.layer)
    assert (settings.iterations, settings.step_size, settings.cycle) == (7, 0.05, (f"{pane.layer}:0.03",))
    assert pane.settings()["cycle"] == [f"{pane.layer}:0.03"] and pane.box() == settings
    assert "tile" in pane.apply_settings({"tile": 8}, strict=False)


def test_after_reset_the_result_is_the_start_image_shown(loaded_window, show_pane, qtbot):
    pane = dream_pane(loaded_window, show_pane, iterations=3)
    run_to_end(pane, qtbot)
    dreamed = pane.analysis_result()
    assert len(dreamed.records) == 3 and dreamed is pane.result
    pane.reset_button.click()
    shown = pane.analysis_result()
    assert shown.records == () and pane.view.title.text().startswith("<b>Start image")
    np.testing.assert_array_equal(shown.image, dreamed.start)
    np.testing.assert_array_equal(pane.view.canvas.image, dreamed.start)


def test_stop_during_a_tiled_step_ends_the_run_within_half_a_second(loaded_window, show_pane, settle, qtbot,
                                                                     monkeypatch):
    picture = Image.fromarray((np.arange(128 * 128) % 241).astype(np.uint8).reshape(128, 128), mode="L")
    loaded_window.controller.set_image(picture, "large")
    settle(loaded_window)
    pane = dream_pane(loaded_window, show_pane, iterations=3)
    assert pane.apply_settings({"work_at": "full", "tile": 32, "overlap": 0}) == {}
    tiles: list[float] = []
    objective = core_dream._objective

    def slow_tile(*args, **kwargs):
        tiles.append(time.monotonic())
        time.sleep(TILE_S)
        return objective(*args, **kwargs)

    monkeypatch.setattr(core_dream, "_objective", slow_tile)
    pane.start_button.click()
    qtbot.waitUntil(lambda: len(tiles) >= 2, timeout=RUN_MS)
    asked = time.monotonic()
    pane.stop_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=RUN_MS)
    assert time.monotonic() - asked < CANCEL_S
    assert pane.outcome == "cancelled" and len(tiles) < len(core_dream.tile_starts(128, 32, 0)) ** 2 == 16
    assert records(pane) == () and pane.result.image.shape == (128, 128)  # stopped inside the first step
