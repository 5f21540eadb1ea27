"""The Deep dream pane: gradient ascent on the input image, watched live and steered while it runs.

Whenever a control of the settings column (:mod:`~cnnviz.gui.panes.dream.controls`) changes, the
pane builds a whole new frozen :class:`DreamConfig` and swaps it into the running dream's
:class:`~cnnviz.gui.panes.dream.job.ConfigBox`; the core reads the box once per step, so a new
layer, step size, objective or regularisation applies from the next step and no step mixes two
settings. The run is a job on the controller's compute worker (:mod:`~cnnviz.gui.panes.dream.job`)
started through :class:`~cnnviz.gui.panes.run_pane.RunPane` (Start, Ctrl+Return; Stop, Esc; a
progress bar with the time left); Pause (Space) holds it between steps. Since the compute worker
runs one job at a time, a run is stopped when the pane is hidden or the model or image changes,
so it never holds up the other panes for long.

The view shows the current octave's image (redrawn at most :data:`REDRAW_MS` apart) with the
octave, step and objective in its caption; the plots (:mod:`~cnnviz.gui.panes.dream.plots`, below,
across the pane) get one curve per run, marked where a setting changed during the run and named in the
legend by the settings its steps used. "Export figure…" saves the current (or last) run as the dream
analysis's report figure (:meth:`DreamPane.analysis_result`) with every plotted run's curves as data. A new model
clears the plots; after a new image, the runs made on the earlier one are named with its name. A
run that diverges stops with a message and keeps its last finite image.
"""

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.dream import NAME, DreamAnalysis, Settings, parse_cycle
from cnnviz.analyses.settings import from_json
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import dream
from cnnviz.core.per_image.dream import DreamConfig, DreamStep
from cnnviz.core.progress import Step
from cnnviz.gui.panes.dream.controls import DreamControls
from cnnviz.gui.panes.dream.job import (
    ConfigBox,
    StepInbox,
    dream_job,
    full_resolution_input,
    start_image,
)
from cnnviz.gui.panes.dream.plots import DreamPlots, RunCurves
from cnnviz.gui.panes.dream.settings_used import STARTING, analysis_values, config_fields, config_setting
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.runtime.control_state import Custom
from cnnviz.gui.widgets.figure_render import export_beside
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.shortcuts import add_shortcut

REDRAW_MS = 50
"""Least time between two redraws of the image and plots (at most 20 per second)."""
CONTROLS_WIDTH = 280


@dataclass(frozen=True, eq=False)
class DreamRequest:
    """What one run dreams: ``x`` (the input, or the image at full resolution) with ``model``."""

    model: LoadedModel
    x: torch.Tensor


class DreamPane(RunPane):
    """Settings on the left (the whole height); buttons, the live image and the plots on the right."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "dream", layer_choices, parent, unit="steps", run_title="Start",
                         cancel_title="Stop", run_key="Ctrl+Return", cancel_key="Esc")
        self.start_button, self.stop_button = self.run_button, self.cancel_button
        self.start_button.setToolTip("Start a dream with these settings (Ctrl+Return)")
        self.stop_button.setToolTip("Stop the run, keeping its image (Esc)")
        self.options = DreamControls(self.picker)
        self.config_box = ConfigBox(DreamConfig())
        self.gate = threading.Event()
        self.gate.set()
        self.records: list[DreamStep] = []
        self.current: torch.Tensor | None = None
        self.origin: torch.Tensor | None = None
        self.run_model: LoadedModel | None = None
        self._run_values: dict[str, Any] = {}
        self._start_pixels: np.ndarray | None = None
        self._shown: tuple[torch.Tensor, np.ndarray] | None = None
        self._latest: DreamStep | None = None
        self._progress = (0, 0)
        self._curves: RunCurves | None = None
        self._inbox = StepInbox()
        self._guide: tuple[tuple, torch.Tensor] | None = None
        self._class_names: tuple[str, ...] | None = None
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self._build_controls()
        self._build_figure()
        self.arrange(body=self._build_body(), with_layer_row=False)
        self._connect()
        self._update_buttons()
        self._register_controls()
        self.apply_config()

    def _register_controls(self) -> None:
        o = self.options
        self.settings_binding.register(
            objective=o.objective, channel=o.channel, squared=o.squared, guide=o.guide,
            best_match=o.best_match, prob_every=o.prob_every, step_size=o.step, normalize=o.normalize,
            iterations=o.iterations, octaves=o.octaves, octave_scale=o.octave_scale, jitter=o.jitter,
            blur_every=o.blur_every, blur_sigma=o.blur_sigma, decay=o.decay, clamp=o.clamp,
            start=o.start, seed=o.seed, work_at=o.work_at, tile=o.tile, overlap=o.overlap,
            cycle=Custom(lambda: [list(pair) for pair in o.cycle.pairs()],
                         lambda pairs: o.cycle.set_pairs(pairs, self.picker.choices), o.cycle.changed))

    def layer_applied(self) -> None:
        """Range the channel control over the layer's channels."""
        choice = self.layer_binding.choice
        if choice is not None:
            self.options.set_channels(choice.channels)
            self.options.set_vector_layer(choice.is_vector)

    def _build_controls(self) -> None:
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the run (Space)")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Show the start image again")
        self.use_button = QPushButton("Use as input")
        self.use_button.setToolTip("Make the dreamed image the current image of every pane")
        self.save_button = QPushButton("Save image…")
        self.save_button.setToolTip("Save the dreamed image as PNG at its full resolution")
        self.clear_button = QPushButton("Clear plots")
        self.clear_button.setToolTip("Remove every run's curves")

    def _build_figure(self) -> None:
        self.view = MapPanel()
        self.plots = DreamPlots()
        self.make_figure(self._export_name, self.plots.data, self.plots)
        export_beside(self.figure, self.view, share=0.4)  # exports show the dreamed image beside its curves

    def _build_body(self) -> QWidget:
        """The settings column (full height) left of the image over the plots."""
        scroll = QScrollArea()
        scroll.setWidget(self.options)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        run_buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.reset_button):
            run_buttons.addWidget(button)
        left_panel = QWidget()
        left = QVBoxLayout(left_panel)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(run_buttons)
        left.addWidget(scroll, 1)
        left_panel.setFixedWidth(CONTROLS_WIDTH)
        result_buttons = QGridLayout()
        for index, button in enumerate((self.use_button, self.save_button, self.export.button, self.clear_button)):
            result_buttons.addWidget(button, index // 2, index % 2)
        result_buttons.setColumnStretch(2, 1)
        top = QWidget()
        right = QVBoxLayout(top)
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(result_buttons)
        right.addWidget(self.progress)
        right.addWidget(self.view, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.figure_area)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(left_panel)
        layout.addWidget(splitter, 1)
        return body

    def _connect(self) -> None:
        self.pause_button.clicked.connect(self.toggle_pause)
        self.reset_button.clicked.connect(self.reset)
        self.use_button.clicked.connect(self.use_as_input)
        self.save_button.clicked.connect(self._save_clicked)
        self.clear_button.clicked.connect(self.plots.clear)
        self.options.changed.connect(self.apply_config)
        self.options.guide_changed.connect(self.apply_config)
        self.state.target_changed.connect(self.options.set_target)
        self.state.image_changed.connect(lambda _image: self._image_replaced())
        add_shortcut(self, Qt.Key.Key_Space, self.toggle_pause)

    @property
    def config(self) -> DreamConfig:
        """The settings the running (or next) dream reads from its next step."""
        return self.config_box()

    @property
    def paused(self) -> bool:
        """True while the run is held between steps."""
        return not self.gate.is_set()

    def caption_fields(self) -> dict[str, Any]:
        """Every setting of the current (or next) run (:func:`settings_used.config_fields`), then each
        plotted run's legend entry (the settings its steps used, changes included) as ``run1``, ``run2``…"""
        fields = config_fields(self.config, self.class_names(), self.options.full_resolution)
        return fields | {f"run{i}": run.label(with_target=True) for i, run in enumerate(self.plots.runs, 1)}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The middle one of the layers with maps (:func:`cnnviz.analyses.layer_rules.middle_map`, as
        ``cnnviz run dream``)."""
        model = self.state.model
        return layer_rules.middle_map(model) if model is not None else choices[len(choices) // 2].name

    def analysis_result(self) -> DreamAnalysis | None:
        """The current (or last) run as the dream analysis's result: the image shown, the start image and the
        run's steps, with the settings its last step used (those read at the start from the start); its report
        figure is the export. The other runs' curves on the plots are not in it. None while no run is shown."""
        model, request = self.run_model, self.run_request
        if model is None or request is None or self.current is None or self._start_pixels is None:
            return None
        last = next((r.config for r in reversed(self.records) if r.config is not None), None)
        later = {k: v for k, v in analysis_values(last).items() if k not in STARTING} if last is not None else {}
        values = self._run_values | later
        chosen, _dropped = from_json(Settings, self.settings() | values)
        shown = self._shown
        image = shown[1] if shown is not None and shown[0] is self.current else image_array(
            model.deprocess(self.current))
        x = request.x
        records = tuple(dataclasses.replace(r, config=None) for r in self.records)
        sizes = dream.octave_sizes(int(x.shape[-2]), int(x.shape[-1]), chosen.octaves, chosen.octave_scale)
        total = max(len(records), self._progress[1]) or chosen.iterations * len(sizes)
        return DreamAnalysis(
            settings=chosen, head=about(NAME, model, Source(self.state.image_name, x)),
            partial=self.figure_partial(), image=image, start=self._start_pixels, records=records,
            layer="" if chosen.objective == "class" else chosen.layer,
            cycle=parse_cycle(chosen.cycle),
            target=chosen.target, sizes=tuple(sizes), total=total, classes=tuple(model.categories),
            message=next((r.message for r in records if r.message), ""))

    def refresh(self) -> None:
        """Apply the picked layer to the run and show the input while no dream is shown."""
        choice = self.layer_binding.choice
        if choice is not None:
            self.options.set_channels(choice.channels)
            self.options.set_vector_layer(choice.is_vector)
        if self.options.cycle.choices != self.picker.choices:
            self.options.cycle.set_choices(self.picker.choices)
        self.apply_config()
        if self.current is None and not self.running:
            self._show_input()

    def clear_views(self) -> None:
        """A new model: stop the run, forget its images and list the new classes."""
        self.stop_run()
        self.current = self.origin = self._latest = self._class_names = None
        self._start_pixels = self._shown = None
        self.plots.clear()
        self.view.canvas.clear_image()
        self.view.set_title("")
        self.view.set_hint("")
        self.view.detail.setText("")
        self.run_controls.reset_progress("Press Start (Ctrl+Return) to dream")
        model = self.state.model
        if model is not None:
            names = [model.class_name(i) for i in range(len(model.categories))]
            self.options.set_classes(names, self.state.target)
        self._update_buttons()

    def apply_config(self) -> None:
        """Swap a new config of the controls into the running dream (read from its next step)."""
        model = self.state.model
        guided = self.options.objective.currentData() == "guided"
        config = self.options.config(self.layer, self._guide_tensor(model) if guided else None)
        self.config_box.set(config)
        self.plots.describe(config_setting(config, self.class_names()), config.prob_every)

    def class_names(self) -> tuple[str, ...]:
        """The current model's class names, by index (empty without a model)."""
        model = self.state.model
        if model is None:
            return ()
        if self._class_names is None:
            self._class_names = tuple(model.class_name(i) for i in range(len(model.categories)))
        return self._class_names

    def run(self) -> None:
        """Start a dream (see :meth:`start_run`)."""
        self.start_run()

    def start_run(self) -> None:
        """Start a dream from the current image (or noise) with the current settings."""
        model = self.state.model
        if model is None or self.state.input_tensor is None or not self.layer:
            self.jobs.show_error("Load a model and an image first.")
            return
        self.stop_run()
        self.config_box = ConfigBox(DreamConfig())
        self._guide = None
        self.apply_config()
        if self.options.full_resolution and self.state.image is not None:
            x = full_resolution_input(model, self.state.image)
        else:
            x = self.state.input_tensor
        config = self.config
        self.run_model = model
        self._run_values = analysis_values(config) | {"guide": self.options.guide_path(),
                                                     "work_at": self.options.work_at.currentData()}
        self.origin = start_image(model, x, config)
        self._start_pixels = image_array(model.deprocess(self.origin))
        self.current, self._latest, self._progress = self.origin, None, (0, 0)
        self.records = []
        self.gate.set()
        self._curves = self.plots.start_run(config_setting(config, self.class_names()), self.class_names(),
                                            self.state.image_name)
        self._inbox = StepInbox()
        self.start(dream_job, DreamRequest(model, x), model, x, self.config_box, self.gate, self._inbox,
                   text="Dreaming…")
        self._update_buttons()
        self._redraw()

    def on_partial(self, item: Step) -> None:
        """Take the steps the run made since the last item."""
        self._collect((item.done, item.total))

    def on_ended(self) -> None:
        """Take the last steps and open the gate for the next run."""
        self._collect()
        self.gate.set()
        self._update_buttons()
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

    def cancel(self) -> None:
        """Stop the run after its current step; its image and records are kept (Stop, Esc)."""
        self.stop_run()

    def stop_run(self) -> None:
        """Stop the run after its current step; its image and records are kept."""
        if self.running:
            super().cancel()
        if self.paused:
            self.gate.set()
            self.jobs.show_info("")
        self._update_buttons()

    def reset(self) -> None:
        """Stop the run and show its start image again."""
        self.stop_run()
        if self.origin is not None:
            self.current, self._latest = self.origin, None
            self._redraw()

    def use_as_input(self) -> None:
        """Stop the run and make the dreamed image the app's current image."""
        model = self.run_model
        if model is None or self.current is None:
            return
        self.stop_run()
        name = self.state.image_name or "image"
        self.controller.set_image(model.deprocess(self.current), f"dream of {name}")

    def save_image(self, path: str | Path) -> Path:
        """Save the dreamed image as PNG at its full resolution (``.png`` added if missing); raises
        OSError."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        if self.run_model is None or self.current is None:
            raise OSError("there is no dreamed image to save")
        self.run_model.deprocess(self.current).save(path, "PNG")
        return path

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt API
        """Stop a run when the pane is hidden: the other panes need the compute worker."""
        super().hideEvent(event)
        if self.running:
            self.stop_run()
            self.jobs.show_info("Stopped: the pane was hidden (the other panes need the compute thread).")

    def _image_replaced(self) -> None:
        self.stop_run()
        self.current = self.origin = self._latest = None
        self._start_pixels = self._shown = None
        self.plots.note_earlier()
        self._update_buttons()

    def _guide_tensor(self, model: LoadedModel | None) -> torch.Tensor | None:
        """The guide image preprocessed for ``model``, made again only when either changes."""
        guide = self.options.guide_image()
        if model is None or guide is None:
            return None
        key = (id(model), id(guide))
        if self._guide is None or self._guide[0] != key:
            self._guide = (key, model.preprocess(guide).detach().cpu().to(model.device))
        return self._guide[1]

    def _collect(self, progress: tuple[int, int] | None = None) -> None:
        if progress is not None:
            self._progress = progress
        records, latest = self._inbox.take()
        if records and self._curves is not None:
            self.records.extend(records)
            used = len(self._curves.settings)
            self._curves.add(records)
            if len(self._curves.settings) != used:
                self.plots.update_labels()
        if latest is not None:
            self.current, self._latest = latest.image, latest
        message = next((r.message for r in records if r.message), None)
        if message:
            self.jobs.show_error(message)
        if (records or latest is not None) and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw(self) -> None:
        self._redraw_timer.stop()
        model = self.run_model
        if model is None or self.current is None:
            return
        pixels = self._start_pixels
        if pixels is None or self.current is not self.origin:
            pixels = image_array(model.deprocess(self.current))
        self._shown = (self.current, pixels)
        self.view.canvas.set_image(pixels, levels=(0, 255))
        self.view.set_hint("")
        height, width = self.current.shape[-2:]
        step = self._latest
        if step is None:
            self.view.set_title(f"Start image · {width}×{height}")
            self.view.detail.setText("")
        else:
            total = self._progress[1]
            octaves = max(1, total // max(1, self.config.iterations)) if total else step.octave + 1
            self.view.set_title(f"Octave {step.octave + 1}/{octaves} · step {step.index + 1}"
                                f"{f'/{total}' if total else ''} · {width}×{height}")
            probability = f" · P(target) {step.target_prob:.3f}" if step.target_prob is not None else ""
            self.view.detail.setText(f"objective {step.objective:.4g}{probability} · layer {step.layer} · "
                                     f"step size {step.step_size:.2g} · mean |update| {step.update_mean:.3g}")
        for run in self.plots.runs:
            run.draw()

    def _show_input(self) -> None:
        model, x = self.state.model, self.state.input_tensor
        if model is None or x is None:
            return
        self.view.canvas.set_image(image_array(model.deprocess(x)), levels=(0, 255))
        self.view.set_title("Input")
        self.view.set_hint("press Start (Ctrl+Return) to dream")
        self.view.detail.setText("")

    def _update_buttons(self) -> None:
        running = self.running
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if running and self.paused else "Pause")
        self.stop_button.setEnabled(running)
        has_image = self.current is not None and self.run_model is not None
        for button in (self.reset_button, self.use_button, self.save_button):
            button.setEnabled(has_image)

    def _save_clicked(self) -> None:
        saved = save_with_dialog(self, "Save dreamed image", f"cnnviz-{self._export_name()}.png",
                                 "PNG image (*.png)", self.save_image, "Could not save the image")
        if saved is not None:
            self.state.show_status(f"Saved {saved}")

    def _export_name(self) -> str:
        return f"dream-{self.config.layer or 'image'}".replace("/", "_")
