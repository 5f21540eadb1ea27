"""The Deep dream pane: the dream analysis (:mod:`cnnviz.analyses.dream`) run on the current image, watched
live and steered while it runs.

The settings column (:mod:`~cnnviz.gui.panes.dream.controls`) is built from the analysis's
:class:`~cnnviz.analyses.dream.Settings`. Whenever a control changes, the pane builds whole new frozen
settings and swaps them into the running dream's :class:`~cnnviz.gui.panes.dream.job.SettingsBox`; the run
reads the box once per step, so a new layer, step size, objective or regularisation applies from the next
step and no step mixes two settings. The run is the analysis's on the controller's compute worker
(:mod:`~cnnviz.gui.panes.dream.job`) started through :class:`~cnnviz.gui.panes.run_pane.RunPane` (Start,
Ctrl+Return; Stop, Esc; a progress bar with the time left); Pause (Space) holds it between steps, and both
get through between the tiles of a step too. Since the compute worker runs one job at a time, a run is
stopped when the pane is hidden or the model or image changes, so it never holds up the other panes for long.

What the pane shows is one :class:`~cnnviz.analyses.dream.DreamAnalysis`, the run's latest (partial) result
(:attr:`DreamPane.result`, redrawn at most :data:`REDRAW_MS` apart): the view
(:mod:`~cnnviz.gui.panes.dream.view`) shows its image, the plots (:mod:`~cnnviz.gui.panes.dream.plots`,
below, across the pane) get one curve per run, marked where a setting changed during the run and named in
the legend by the settings its steps used. "Export figure…" saves that result as the dream analysis's report
figure (:meth:`DreamPane.analysis_result`) with every plotted run's curves as data. A new model clears the
plots; after a new image, the runs made on the earlier one are named with its name. A run that diverges
stops with a message and keeps its last finite image.
"""

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QWidget

from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source
from cnnviz.analyses.dream import DreamAnalysis, Settings
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.progress import Step
from cnnviz.gui.panes.dream import layout
from cnnviz.gui.panes.dream.controls import DreamControls
from cnnviz.gui.panes.dream.job import LatestStep, SettingsBox, dream_job
from cnnviz.gui.panes.dream.plots import DreamPlots, RunCurves
from cnnviz.gui.panes.dream.settings_used import step_setting
from cnnviz.gui.panes.dream.view import DreamView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.widgets.figure_render import export_beside
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.shortcuts import add_shortcut

REDRAW_MS = 50
"""Least time between two redraws of the image and plots (at most 20 per second)."""


@dataclass(frozen=True, eq=False)
class DreamRequest:
    """What one run dreams: ``source`` with ``model``."""

    model: LoadedModel
    source: Source


class DreamPane(RunPane):
    """Settings on the left (the whole height); buttons, the live image and the plots on the right.

    Attributes: ``form`` (the settings column), ``view``, ``plots``, ``result`` (the result shown, None
    before a run and after a new image or model), ``box`` (the settings the latest run reads)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "dream", layer_choices, parent, unit="steps", run_title="Start",
                         cancel_title="Stop", run_key="Ctrl+Return", cancel_key="Esc")
        self.start_button, self.stop_button = self.run_button, self.cancel_button
        self.start_button.setToolTip("Start a dream with these settings (Ctrl+Return)")
        self.stop_button.setToolTip("Stop the run, keeping its image (Esc)")
        self.pause_button = layout.button("Pause", "Pause or resume the run (Space)")
        self.reset_button = layout.button("Reset", "Show the start image again")
        self.use_button = layout.button("Use as input", "Make the dreamed image the current image of every pane")
        self.save_button = layout.button("Save image…", "Save the dreamed image as PNG at its full resolution")
        self.clear_button = layout.button("Clear plots", "Remove every run's curves")
        self.form = DreamControls(self.picker)
        self.box = SettingsBox(Settings())
        self.gate = threading.Event()
        self.gate.set()
        self.result: DreamAnalysis | None = None
        self._latest = LatestStep()
        self._curves: RunCurves | None = None
        self._class_names: tuple[str, ...] | None = None
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self.view = DreamView()
        self.plots = DreamPlots()
        self.make_figure(lambda: f"dream-{self.layer or 'image'}".replace("/", "_"), self.plots.data, self.plots)
        export_beside(self.figure, self.view, share=0.4)  # exports show the dreamed image beside its curves
        self.arrange(body=layout.body(
            self.form, (self.start_button, self.pause_button, self.stop_button, self.reset_button),
            (self.use_button, self.save_button, self.export.button, self.clear_button), self.progress, self.view,
            self.figure_area), with_layer_row=False)
        self._connect()
        self.settings_binding.register(self.form)
        self._update_buttons()
        self.apply_config()

    def _connect(self) -> None:
        self._redraw_timer.timeout.connect(self._redraw)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.reset_button.clicked.connect(self.reset)
        self.use_button.clicked.connect(self.use_as_input)
        self.save_button.clicked.connect(self._save_clicked)
        self.clear_button.clicked.connect(self.plots.clear)
        self.form.changed.connect(self.apply_config)
        self.state.target_changed.connect(self.form.set_target)
        self.state.image_changed.connect(lambda _image: self._forget(earlier=True))
        add_shortcut(self, Qt.Key.Key_Space, self.toggle_pause, "Pause or resume the run")

    @property
    def paused(self) -> bool:
        """True while the run is held between steps."""
        return not self.gate.is_set()

    def layer_applied(self) -> None:
        """Range the channel control over the layer's channels; octaves and tiles only for a layer with maps."""
        choice = self.layer_binding.choice
        if choice is not None:
            self.form.set_channels(choice.channels)
            self.form.set_vector_layer(choice.is_vector)

    def caption_fields(self) -> dict[str, Any]:
        """The settings of the next run that shape a dream (:meth:`Settings.caption_fields`), then each plotted
        run's legend entry (the settings its steps used, changes included) as ``run1``, ``run2``…"""
        try:
            fields = self.form.settings(self.layer).caption_fields()
        except ValueError:
            fields = {}
        return fields | {f"run{i}": run.label(with_target=True) for i, run in enumerate(self.plots.runs, 1)}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The middle one of the layers with maps (:func:`cnnviz.analyses.layer_rules.middle_map`, as
        ``cnnviz run dream``)."""
        model = self.state.model
        return layer_rules.middle_map(model) if model is not None else choices[len(choices) // 2].name

    def analysis_result(self) -> DreamAnalysis | None:
        """The result shown (:attr:`result`: the image on screen, the start image and the steps of the run
        that made it, with the settings its last step read); its report figure is the export. The other runs'
        curves on the plots are not in it. None while no dream is shown."""
        return self.result

    def refresh(self) -> None:
        """Apply the picked layer to the run and show the input while no dream is shown."""
        self.layer_applied()
        if self.form.cycle.choices != self.picker.choices:
            self.form.cycle.set_choices(self.picker.choices)
        self.apply_config()
        model, x = self.state.model, self.state.input_tensor
        if self.result is None and not self.running and model is not None and x is not None:
            self.view.show_input(image_array(model.deprocess(x)))

    def clear_views(self) -> None:
        """A new model: stop the run, forget its result and curves and list the new classes."""
        self._forget(earlier=False)
        self._class_names = None
        self.view.clear()
        self.run_controls.reset_progress("Press Start (Ctrl+Return) to dream")
        model = self.state.model
        if model is not None:
            self.form.set_classes(list(self.class_names()), self.state.target)

    def apply_config(self) -> None:
        """Swap whole new settings of the controls into the running dream (read from its next step); settings
        that do not go together are shown as an error and not swapped in."""
        try:
            settings = self.form.settings(self.layer)
        except ValueError as error:
            self.jobs.show_error(str(error))
            return
        self.box.set(settings)
        self.plots.describe(step_setting(settings, self.class_names()), settings.prob_every)

    def class_names(self) -> tuple[str, ...]:
        """The current model's class names, by index (empty without a model)."""
        model = self.state.model
        if model is None:
            return ()
        if self._class_names is None:
            self._class_names = tuple(model.class_name(i) for i in range(len(model.categories)))
        return self._class_names

    def run(self) -> None:
        """Start a dream from the current image (or noise) with the current settings (Start)."""
        model, x = self.state.model, self.state.input_tensor
        if model is None or x is None or not self.layer:
            self.jobs.show_error("Load a model and an image first.")
            return
        try:
            settings = self.form.settings(self.layer)
        except ValueError as error:
            self.jobs.show_error(str(error))
            return
        self.box, self._latest = SettingsBox(settings), LatestStep()
        self.gate.set()
        names = self.class_names()
        self._curves = self.plots.start_run(step_setting(settings, names), names, self.state.image_name)
        source = Source(self.state.image_name, x, self.state.image)
        self.start(dream_job, DreamRequest(model, source), model, source, self.box, self.gate, self._latest,
                   text="Dreaming…")
        self._update_buttons()

    def on_partial(self, item: Step) -> None:
        """Show the run's partial result, unless it is the one shown (a step the run yields again between the
        tiles of a step, or the job while paused): nothing is redrawn or followed for those."""
        if isinstance(item.partial, DreamAnalysis) and item.partial is not self.result:
            self._show(item.partial)

    def on_done(self, result: DreamAnalysis) -> None:
        """Show the finished result."""
        self._show(result)

    def on_ended(self) -> None:
        """Show the run's last step (a stopped run's may not have arrived), say why a run diverged and open
        the gate for the next run."""
        last = self._latest.step
        if self.outcome != "done" and last is not None and isinstance(last.partial, DreamAnalysis):
            self._show(last.partial)
        if self.paused:
            self.jobs.show_info("")
        self.gate.set()
        if self.result is not None and self.result.message:
            self.jobs.show_error(self.result.message)
        self._redraw()

    def toggle_pause(self) -> None:
        """Pause a running dream, or resume a paused one."""
        if self.paused:
            self.gate.set()
            self.jobs.show_info("")
        elif self.running:
            self.gate.clear()
            self.jobs.show_info("Paused: other panes' work waits until the run resumes or stops.")
        self._update_buttons()

    def reset(self) -> None:
        """Stop the run and show its start image again (the result shown: no steps yet)."""
        self.cancel()
        self._latest = LatestStep()
        if self.result is not None:
            self.result = dataclasses.replace(self.result, image=self.result.start, records=(), message="")
            self._redraw()

    def use_as_input(self) -> None:
        """Stop the run and make the dreamed image the app's current image."""
        if self.result is None:
            return
        image = Image.fromarray(self.result.image)
        self.cancel()
        self.controller.set_image(image, f"dream of {self.state.image_name or 'image'}")

    def save_image(self, path: str | Path) -> Path:
        """Save the dreamed image as PNG at its full resolution (``.png`` added if missing); raises OSError."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        if self.result is None:
            raise OSError("there is no dreamed image to save")
        Image.fromarray(self.result.image).save(path, "PNG")
        return path

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt API
        """Stop a run when the pane is hidden: the other panes need the compute worker."""
        super().hideEvent(event)
        if self.running:
            self.cancel()
            self.jobs.show_info("Stopped: the pane was hidden (the other panes need the compute thread).")

    def _forget(self, earlier: bool) -> None:
        """Stop the run and forget its result (a new image, ``earlier``: the runs plotted name their image; a
        new model: the plots are cleared)."""
        self.cancel()
        self.result, self._curves, self._latest = None, None, LatestStep()
        if earlier:
            self.plots.note_earlier()
        else:
            self.plots.clear()
        self._update_buttons()

    def _show(self, result: DreamAnalysis) -> None:
        self.result = result
        if self._curves is not None and self._curves.follow(result):
            self.plots.update_labels()
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw(self) -> None:
        self._redraw_timer.stop()
        if self.result is not None:
            self.view.show_result(self.result)
        for run in self.plots.runs:
            run.draw()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.running
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if running and self.paused else "Pause")
        self.stop_button.setEnabled(running)
        for button in (self.reset_button, self.use_button, self.save_button):
            button.setEnabled(self.result is not None)

    def _save_clicked(self) -> None:
        saved = save_with_dialog(self, "Save dreamed image", f"cnnviz-dream-{self.layer or 'image'}.png",
                                 "PNG image (*.png)", self.save_image, "Could not save the image")
        if saved is not None:
            self.state.show_status(f"Saved {saved}")
