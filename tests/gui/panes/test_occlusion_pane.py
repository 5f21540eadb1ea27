"""The Occlusion pane: maps equal the core's, cancel leaves a marked partial result, a new target
class runs again, exports hold the result, and no hooks stay on the model."""

import time

import numpy as np
from export_answers import answer_export
from PIL import Image
from PySide6.QtGui import QColor

from cnnviz.core.data import images
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import deconv, occlusion
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.class_colours import PALETTE
from cnnviz.gui.widgets.image_view import image_array


def run_to_end(pane, qtbot):
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.result is not None and pane.result.maps.complete,
                    timeout=60_000)
    return pane.result.maps


def assert_same_maps(shown: occlusion.OcclusionResult, expected: occlusion.OcclusionResult) -> None:
    np.testing.assert_allclose(shown.prob, expected.prob, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(shown.top_class, expected.top_class)
    np.testing.assert_allclose(shown.feature, expected.feature, rtol=1e-5, atol=1e-4)
    assert (shown.channel, shown.target, shown.done, shown.total) == (
        expected.channel, expected.target, expected.done, expected.total)


def test_run_shows_the_cores_maps_and_hover_shows_the_occluded_image(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    assert (pane.form.value("window"), pane.form.value("stride"), pane.fill) == (8, 2, "mean")
    assert pane.layer == "features.relu3"
    shown = run_to_end(pane, qtbot)
    expected = occlusion.occlude(model, x, target=loaded_window.state.target, window=8, stride=2, fill="mean",
                                 layer="features.relu3")
    assert_same_maps(shown, expected)
    np.testing.assert_array_equal(pane.view.prob_panel.canvas.overlay, shown.prob)
    np.testing.assert_array_equal(pane.view.feature_panel.canvas.overlay, shown.feature)
    assert pane.view.prob_panel.canvas.overlay_item.opacity() == 0.7
    projection = deconv.project_unit(model, x, layer="features.relu3", channel=expected.channel)
    np.testing.assert_array_equal(pane.view.projection_panel.canvas.image, deconv.to_display(projection.image)[:, :, 0])
    assert "Ankle boot" in pane.view.class_panel.detail.text() and not pane.partial_label.isVisible()
    assert pane.progress.value() == pane.progress.maximum() == 121

    pane.view.prob_panel.canvas.hovered.emit(10, 12)
    i, j = occlusion.cell_at(shown, 10, 12)
    top, left = int(shown.positions[0][i]), int(shown.positions[1][j])
    source = occlusion.fill_image(model, x, fill="mean", window=8)
    example = image_array(model.deprocess(occlusion.occluded(x, source, top, left, 8)))
    np.testing.assert_array_equal(pane.view.input_panel.canvas.image, example)
    assert f"top {top}, left {left}" in pane.info.text() and f"{shown.prob[i, j]:.4f}" in pane.info.text()
    assert hook_count(model.module) == 0


def slowed(real):
    def job(*args, **kwargs):
        steps = real(*args, **kwargs)
        try:
            while True:
                try:
                    item = next(steps)
                except StopIteration as stop:
                    return stop.value
                time.sleep(0.05)
                yield item
        finally:
            steps.close()

    return job


def test_cancel_keeps_a_partial_result_marked_partial(loaded_window, show_pane, qtbot, monkeypatch):
    monkeypatch.setattr(occlusion, "occlusion_job", slowed(occlusion.occlusion_job))
    pane = show_pane(loaded_window, "occlusion")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    pane.form.widget("batch_size").setValue(4)
    pane.run()
    qtbot.waitUntil(lambda: pane.result is not None, timeout=30_000)
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=30_000)
    partial = pane.result.maps
    assert pane.result.partial and pane.analysis_result().partial
    assert pane.cancelled and 0 < partial.done < partial.total == 121 and not partial.complete
    assert pane.partial_label.isVisible()
    assert pane.partial_label.text().startswith(f"PARTIAL — {partial.done} of 121 positions")
    computed = np.arange(121) < partial.done
    flat = partial.prob.reshape(-1)
    assert np.isfinite(flat[computed]).all() and np.isnan(flat[~computed]).all()
    assert (partial.top_class.reshape(-1)[~computed] == -1).all()
    full = occlusion.occlude(model, x, target=loaded_window.state.target, window=8, stride=2, fill="mean",
                             layer="features.relu3")
    np.testing.assert_allclose(flat[computed], full.prob.reshape(-1)[computed], rtol=1e-5, atol=1e-6)
    assert hook_count(model.module) == 0


def test_a_normal_run_shows_its_progress_and_no_partial_banner(loaded_window, show_pane, qtbot, monkeypatch):
    monkeypatch.setattr(occlusion, "occlusion_job", slowed(occlusion.occlusion_job))
    pane = show_pane(loaded_window, "occlusion")
    pane.form.widget("batch_size").setValue(4)
    pane.run()
    assert pane.progress.format() == "0 / 121 positions · starting…" and pane.progress.maximum() == 121
    qtbot.waitUntil(lambda: pane.result is not None and pane.result.maps.done >= 8, timeout=30_000)
    assert pane.running and not pane.result.maps.complete and not pane.partial_label.isVisible()
    assert pane.progress.format().startswith(f"{pane.progress.value()} / 121 positions · ")
    qtbot.waitUntil(lambda: not pane.running, timeout=60_000)
    assert pane.result.maps.complete and not pane.result.partial and not pane.partial_label.isVisible()


def test_a_new_model_puts_back_the_titles_without_a_class(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    result = run_to_end(pane, qtbot)
    name = loaded_window.state.model.class_name(result.target)
    assert pane.view.prob_panel.title.text() == f"<b>(d) Probability of {name}</b>"
    assert pane.view.feature_panel.title.text().startswith("<b>(b) features.relu3, map ")
    loaded_window.controller.load_model(ModelSpec())
    settle(loaded_window)
    qtbot.waitUntil(lambda: pane.settled)
    assert pane.result is None and name not in pane.view.prob_panel.title.text()
    assert pane.view.prob_panel.title.text() == "<b>(d) Target probability</b>"
    assert pane.view.feature_panel.title.text() == "<b>(b) Strongest feature map</b>"


def test_the_class_map_colours_its_classes_apart_in_order_of_appearance(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    result = run_to_end(pane, qtbot)
    order = list(dict.fromkeys(int(c) for c in result.top_class.ravel()))
    shown = pane.view.class_panel.canvas.overlay_item.image
    for rank, index in enumerate(order):
        assert (shown[result.top_class == index] == QColor(PALETTE[rank]).getRgb()).all()
        assert f"color:{PALETTE[rank]}" in pane.view.class_panel.detail.text()


def test_a_new_target_class_runs_again(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    first = run_to_end(pane, qtbot)
    other = 5 if first.target != 5 else 7
    loaded_window.controller.choose_target(other)
    qtbot.waitUntil(lambda: not pane.running and pane.result is not None and pane.result.maps.target == other
                    and pane.result.maps.complete, timeout=60_000)
    assert_same_maps(pane.result.maps, occlusion.occlude(model, x, target=other, window=8, stride=2, fill="mean",
                                                    layer="features.relu3"))
    assert "Sandal" in pane.view.prob_panel.title.text()
    assert hook_count(model.module) == 0


def test_a_new_image_clears_the_maps(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    run_to_end(pane, qtbot)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 90), "grey")
    settle(loaded_window)
    qtbot.waitUntil(lambda: pane.settled)
    assert pane.result is None and not pane.data_button.isEnabled()


def test_exports_write_the_figure_and_the_raw_maps(loaded_window, show_pane, qtbot, monkeypatch, tmp_path):
    pane = show_pane(loaded_window, "occlusion")
    result = run_to_end(pane, qtbot)
    dialog = "PySide6.QtWidgets.QFileDialog.getSaveFileName"
    answer_export(monkeypatch, tmp_path / "figure.png")
    written = pane.export.export()
    assert written == [tmp_path / "figure.png"]
    pixels = np.asarray(Image.open(written[0]).convert("RGB"), dtype=np.float32)
    assert pixels.shape[0] > 200 and pixels.std() > 20

    monkeypatch.setattr(dialog, lambda *args, **kwargs: (str(tmp_path / "maps"), ""))
    written = pane.export_data()
    assert [p.name for p in written] == ["maps_prob.npy", "maps_top_class.npy", "maps_feature.npy", "maps.csv"]
    for name, array in result.arrays().items():
        np.testing.assert_array_equal(np.load(tmp_path / f"maps_{name}.npy"), array)
    assert (tmp_path / "maps.csv").read_text(encoding="utf-8") == result.to_csv()
    assert len(result.to_csv().splitlines()) == 122


def test_the_batch_box_is_bounded_and_its_batch_reaches_the_core(loaded_window, show_pane):
    pane = show_pane(loaded_window, "occlusion")
    batch = pane.form.widget("batch_size")
    assert (batch.minimum(), batch.maximum(), batch.specialValueText()) == (0, 512, "auto")
    batch.setValue(100_000)
    assert batch.value() == 512 and pane.request().settings.batch_size == 512


def test_the_analysis_result_is_the_run_shown_drawn_with_the_display_chosen_now(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "occlusion")
    assert pane.analysis_result() is None
    maps = run_to_end(pane, qtbot)
    assert pane.result.settings == pane.run_request.settings
    assert (pane.result.settings.window, pane.result.settings.layer) == (8, "features.relu3")
    pane.display.set_value("colormap", "magma")
    pane.display.set_value("opacity", 30)
    assert not pane.running and pane.result.maps is maps
    assert pane.view.prob_panel.canvas.overlay_item.opacity() == 0.3
    result = pane.analysis_result()
    assert result.maps is maps and not result.partial and result.image.shape == (28, 28)
    assert (result.settings.colormap, result.settings.opacity) == ("magma", 30)
    assert result.settings.window == 8 and result.resolved()["channel"] == maps.channel
    assert pane.view.projection_panel.detail.text() == (
        f"channel {maps.channel} at {result.projection_at}, unoccluded image")
    assert pane.settings()["colormap"] == "magma" and pane.settings()["window"] == 8


def test_the_models_default_window_is_shown_but_not_remembered_as_a_choice(make_window, settle, qtbot):
    window = make_window(remember=True)
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.default_sample())
    settle(window)
    pane = window.panes["occlusion"]
    assert (pane.form.value("window"), pane.form.value("stride")) == (8, 2)
    assert settings_store.load_text("panes/occlusion/window") == ""
    pane.form.widget("window").setValue(9)
    assert settings_store.load_text("panes/occlusion/window") == "9"
