"""The parts a tool pane is composed of, on their own: the job runner (a newer job of a name replaces an
older one, errors in red until the next job), the layer binding (listed per model, following the shared
layer and channel), the settings binding (round trip, unknown names, waiting for the layer list), the
figure part (caption, report action) and the run controls (progress and PARTIAL texts)."""

import threading

import pytest
from PySide6.QtWidgets import QSpinBox, QVBoxLayout, QWidget

from cnnviz.analyses import occlusion
from cnnviz.core.data import images
from cnnviz.gui.panes.parts.figure_part import FigurePart
from cnnviz.gui.panes.parts.job_runner import ERROR_STYLE, JobRunner
from cnnviz.gui.panes.parts.layer_binding import LayerBinding
from cnnviz.gui.panes.parts.run_controls import RunControls, partial_text
from cnnviz.gui.panes.parts.settings_binding import SettingsBinding
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.settings_form import SettingsForm

TIMEOUT_MS = 10_000
CHOICES = [LayerChoice("features.conv1", "Conv2d", (8, 24, 24)), LayerChoice("features.conv2", "Conv2d", (16, 8, 8)),
           LayerChoice("features.conv3", "Conv2d", (32, 4, 4))]


class Host(QWidget):
    """A pane-like widget composed of a job runner, a layer binding and a settings binding, recording
    what the parts call back."""

    def __init__(self, window, *, shared: bool = True) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        self.jobs = JobRunner("host", window.state, window.controller, self)
        self.layers = LayerBinding(
            window.state, self.jobs, lambda model: list(CHOICES), changed=lambda: self.calls.append(("changed",)),
            cleared=lambda: self.calls.append(("cleared",)), default_layer=lambda choices: choices[1].name,
            channel_selected=lambda channel: self.calls.append(("channel", channel)),
            output_ready=lambda output: self.calls.append(("output", output.layer)), shared=shared, parent=self)
        self.settings = SettingsBinding("host", self.layers, changed=lambda: self.calls.append(("changed",)),
                                        layer_applied=lambda: self.calls.append(("layer_applied", self.layers.layer)),
                                        parent=self)


@pytest.fixture
def host(window, qtbot):
    made = Host(window)
    qtbot.addWidget(made)
    return made


def load(window, qtbot, settle, host: Host) -> None:
    """Load the bundled model and the default sample; wait until ``host`` lists its layers."""
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.default_sample())
    settle(window)
    qtbot.waitUntil(lambda: host.layers.listed and host.jobs.settled, timeout=TIMEOUT_MS)


def test_a_newer_job_of_a_name_replaces_the_older_one(host, qtbot):
    jobs, gate, results = host.jobs, threading.Event(), []

    def held(value: int) -> int:
        gate.wait(5)
        return value

    jobs.submit("sum", "Adding slowly…", held, 1, done=results.append)
    jobs.submit("sum", "Adding…", lambda value: value, 2, done=results.append)
    assert jobs.is_running("sum") and not jobs.settled
    assert jobs.busy.busy and jobs.busy.text.text() == "Adding…"
    gate.set()
    qtbot.waitUntil(lambda: jobs.settled, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert results == [2] and not jobs.is_running("sum") and not jobs.busy.busy


def test_errors_show_in_red_until_the_next_job(host, qtbot):
    jobs = host.jobs

    def breaking() -> None:
        raise ValueError("boom")

    jobs.submit("break", "Breaking…", breaking, done=lambda _result: None)
    qtbot.waitUntil(lambda: jobs.settled, timeout=TIMEOUT_MS)
    assert jobs.error == jobs.info.text() == jobs.info.toolTip() == "Breaking failed: boom"
    assert jobs.info.styleSheet() == ERROR_STYLE
    done = []
    jobs.submit("other", "Working…", lambda: 7, done=done.append)
    assert jobs.error == jobs.info.text() == "" and jobs.info.styleSheet() == ""
    qtbot.waitUntil(lambda: done == [7], timeout=TIMEOUT_MS)
    jobs.show_error("wrong")
    jobs.show_info("a hint")
    assert jobs.error == "" and jobs.info.text() == "a hint" and jobs.info.styleSheet() == ""


def test_the_layer_binding_lists_the_layers_and_follows_the_shared_state(window, host, qtbot, settle):
    load(window, qtbot, settle, host)
    state, layers = window.state, host.layers
    assert [choice.name for choice in layers.picker.choices] == [choice.name for choice in CHOICES]
    assert ("cleared",) in host.calls and host.calls[-1] == ("changed",)
    assert layers.layer == "features.conv2" and layers.choice == CHOICES[1]  # the default: none was shared
    host.calls.clear()
    state.set_layer("features.conv3")
    assert layers.layer == "features.conv3" and host.calls == [("changed",)]
    state.set_layer("classifier.fc1")  # not listed here: this pane keeps its layer
    assert layers.layer == "features.conv3" and layers.state_channel() is None
    layers.choose_layer("features.conv1")
    assert state.layer == layers.layer == "features.conv1"
    host.calls.clear()
    layers.choose_channel(4)
    assert state.channel == layers.state_channel() == 4 and host.calls == [("channel", 4)]
    state.set_channel(-1)
    assert host.calls[-1] == ("channel", None) and layers.state_channel() is None
    assert host.jobs.request_output("features.conv1") is None  # the Input tab is shown: nothing captured it yet
    qtbot.waitUntil(lambda: ("output", "features.conv1") in host.calls and host.jobs.settled, timeout=TIMEOUT_MS)


def test_a_binding_that_is_not_shared_leaves_the_shared_layer(window, qtbot, settle):
    host = Host(window, shared=False)
    qtbot.addWidget(host)
    load(window, qtbot, settle, host)
    before = window.state.layer
    host.layers.choose_layer("features.conv3")
    assert host.layers.layer == "features.conv3" and window.state.layer == before


def test_settings_round_trip(window, host, qtbot, settle):
    binding = host.settings
    spin, form = QSpinBox(), SettingsForm(occlusion.Settings, fields=("window", "fill"))
    qtbot.addWidget(spin)
    qtbot.addWidget(form)
    curves: list = []

    def apply_curves(values: dict, strict: bool) -> dict[str, str]:
        values = dict(values)
        curves[:] = values.pop("curves", curves)
        return binding.unknown_settings(values, strict)

    binding.register(form, count=spin)
    binding.add_extra(lambda: {"curves": list(curves)}, apply_curves)
    load(window, qtbot, settle, host)
    assert binding.settings() == {"layer": "features.conv2", "window": None, "fill": "mean", "count": 0, "curves": []}
    saved = {"layer": "features.conv3", "window": 9, "fill": "black", "count": 5, "curves": [[1, 2]]}
    host.calls.clear()
    assert binding.apply_settings(saved) == {}
    assert binding.settings() == saved and spin.value() == 5 and form.value("window") == 9
    assert window.state.layer == "features.conv3" and ("layer_applied", "features.conv3") in host.calls
    with pytest.raises(KeyError, match="colour"):
        binding.apply_settings({"colour": 1})
    problems = binding.apply_settings({"layer": "nowhere", "fill": "plaid", "colour": 1}, strict=False)
    assert set(problems) == {"layer", "fill", "colour"} and problems["colour"] == "no such setting"
    assert binding.settings()["fill"] == "black" and binding.controls.controls["count"] is spin


def test_settings_wait_for_the_layer_list(window, host, qtbot, settle):
    spin = QSpinBox()
    qtbot.addWidget(spin)
    host.settings.register(count=spin)
    reports: list[dict] = []
    host.settings.apply_settings_when_listed({"layer": "features.conv3", "count": 3, "colour": 1}, reports.append)
    assert reports == [] and spin.value() == 0
    load(window, qtbot, settle, host)
    assert reports == [{"colour": "no such setting"}] and spin.value() == 3
    assert host.layers.layer == "features.conv3" and window.state.layer != "features.conv3"
    host.settings.apply_settings_when_listed({"layer": "nowhere"}, reports.append)  # listed: applied at once
    assert reports[-1] == {"layer": "no layer 'nowhere' in this pane's list"}


def test_the_figure_part_captions_and_asks_for_the_report(window, qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    part = FigurePart("host", window.state, owner, caption_fields=lambda: {"layer": "features.conv1", "stride_px": 4},
                      figure_partial=lambda: True)
    figure = part.make(lambda: "host-figure", dict)
    layout = QVBoxLayout(owner)
    layout.addWidget(part.area)
    layout.addWidget(part.export.button)
    assert part.figure is figure and part.area.figure is figure and part.export.name() == "host-figure"
    asked = []
    part.report_requested.connect(lambda: asked.append(True))
    part.report_action.trigger()
    assert asked == [True] and part.report_action in figure.actions()
    caption = part.caption()
    assert caption.analysis == "host" and caption.partial and caption.fields == {"layer": "features.conv1",
                                                                                   "stride_px": 4}
    assert caption.image == window.state.image_name and caption.dataset == ""
    assert part.report_figure(part.export.options) is None
    assert part.class_text(None) == part.class_text(-1) == "top-1" and part.class_text(3) == "3"


def test_run_controls_show_progress_and_partial_results(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    runs = []
    controls = RunControls(owner, "positions", run=lambda: runs.append("run"), cancel=lambda: runs.append("cancel"))
    controls.run_button.click()
    assert runs == ["run"] and not controls.cancel_button.isEnabled()
    controls.started(planned=8)
    assert controls.cancel_button.isEnabled() and controls.progress.format() == "0 / 8 positions · starting…"
    controls.progressed(2, 8)
    assert controls.progress.value() == 2 and controls.progress.format().startswith("2 / 8 positions · 0:0")
    controls.ended()
    controls.show_partial((2, 8), "cancelled")
    assert not controls.cancel_button.isEnabled() and controls.partial_label.isVisibleTo(owner)
    assert controls.partial_label.text() == "PARTIAL — 2 of 8 positions (cancelled)"
    controls.show_partial((8, 8), "done")
    assert not controls.partial_label.isVisibleTo(owner)
    assert partial_text((3, 8), "running", "steps") == "" and partial_text(None, "failed", "steps") == ""
    assert partial_text((3, 8), "done", "steps") == "PARTIAL — 3 of 8 steps (stopped)"
