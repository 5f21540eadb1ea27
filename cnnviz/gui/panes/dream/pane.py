"""The Deep dream pane: gradient ascent on the input image, watched live and steered while it runs.

The settings column (:mod:`~cnnviz.gui.panes.dream.controls`) writes into the :class:`DreamConfig` of the
running dream whenever a control changes, and the core reads it before every step, so a new layer,
step size, objective or regularisation applies from the next step. The run is a job on the
controller's compute worker (:mod:`~cnnviz.gui.panes.dream.job`); Pause holds it between steps, Stop
cancels it. Since the compute worker runs one job at a time, a run is stopped when the pane is
hidden or the model or image changes, so it never holds up the other panes for long.

The view shows the current octave's image (redrawn at most :data:`REDRAW_MS` apart) with the
octave, step and objective in its caption; the plots (:mod:`~cnnviz.gui.panes.dream.plots`, below, across
the pane; "Export figure…" saves them with their data) get one curve per run. A run that diverges
stops with a message and keeps its last finite image.
"""

import threading
from pathlib import Path

import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.dream import DreamConfig, DreamStep
from cnnviz.core.models import LoadedModel
from cnnviz.gui.app.pane_context import PaneContext
from cnnviz.gui.panes.dream.controls import DreamControls
from cnnviz.gui.panes.dream.job import (
    StepInbox,
    StepRecord,
    dream_job,
    full_resolution_input,
    start_image,
)
from cnnviz.gui.panes.dream.plots import DreamPlots, RunCurves
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.export_dialog import default_folder
from cnnviz.gui.widgets.figure_export import FigureExport
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.shortcuts import add_shortcut

REDRAW_MS = 50
"""Least time between two redraws of the image and plots (at most 20 per second)."""
CONTROLS_WIDTH = 280


class DreamPane(ToolPane):
    """Settings on the left; buttons, the live image and the plots on the right."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "dream", layer_choices, parent)
        self.controls = DreamControls(self.picker)
        self.config = DreamConfig()
        self.gate = threading.Event()
        self.gate.set()
        self.records: list[StepRecord] = []
        self.current: torch.Tensor | None = None
        self.start: torch.Tensor | None = None
        self.run_model: LoadedModel | None = None
        self._latest: DreamStep | None = None
        self._progress = (0, 0)
        self._curves: RunCurves | None = None
        self._run_ident = 0
        self._guide_key: tuple | None = None
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start a dream with these settings (Ctrl+Return)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the run (Space)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run, keeping its image (Esc)")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Show the start image again")
        self.use_button = QPushButton("Use as input")
        self.use_button.setToolTip("Make the dreamed image the current image of every pane")
        self.save_button = QPushButton("Save image…")
        self.save_button.setToolTip("Save the dreamed image as PNG at its full resolution")
        self.clear_button = QPushButton("Clear plots")
        self.clear_button.setToolTip("Remove every run's curves")

        self.view = MapPanel()
        self.plots = DreamPlots()
        self.export = FigureExport(self.plots, self._export_name, self.plots.data,
                                   self.state.show_status, self)

        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        run_buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.reset_button):
            run_buttons.addWidget(button)
        left = QVBoxLayout()
        left.addLayout(run_buttons)
        left.addWidget(scroll, 1)
        left_panel = QWidget()
        left_panel.setLayout(left)
        left_panel.setFixedWidth(CONTROLS_WIDTH)
        left.setContentsMargins(0, 0, 0, 0)
        result_buttons = QGridLayout()
        result_buttons.addWidget(self.use_button, 0, 0)
        result_buttons.addWidget(self.save_button, 0, 1)
        result_buttons.addWidget(self.export.button, 1, 0)
        result_buttons.addWidget(self.clear_button, 1, 1)
        result_buttons.setColumnStretch(2, 1)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(result_buttons)
        right.addWidget(self.view, 1)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(left_panel)
        top_layout.addLayout(right, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(self.status_row())

        self.start_button.clicked.connect(self.start_run)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_run)
        self.reset_button.clicked.connect(self.reset)
        self.use_button.clicked.connect(self.use_as_input)
        self.save_button.clicked.connect(self._save_clicked)
        self.clear_button.clicked.connect(self.plots.clear)
        self.controls.changed.connect(self.apply_settings)
        self.controls.guide_changed.connect(self.apply_settings)
        self.state.target_changed.connect(self.controls.set_target)
        self.state.image_changed.connect(lambda _image: self._image_replaced())
        add_shortcut(self, QKeySequence("Ctrl+Return"), self.start_run)
        add_shortcut(self, Qt.Key.Key_Space, self.toggle_pause)
        add_shortcut(self, Qt.Key.Key_Escape, self.stop_run)
        self._update_buttons()
        self.apply_settings()

    @property
    def running(self) -> bool:
        """True while a run has not ended."""
        return self.is_running("run")

    @property
    def paused(self) -> bool:
        """True while the run is held between steps."""
        return not self.gate.is_set()

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The middle one of the layers with maps (deep enough to dream, still spatial)."""
        maps = [choice.name for choice in choices if not choice.is_vector] or [choices[0].name]
        return maps[len(maps) // 2]

    def refresh(self) -> None:
        """Apply the picked layer to the run and show the input while no dream is shown."""
        choice = self.choice
        if choice is not None:
            self.controls.set_channels(choice.channels)
        if self.controls.cycle.choices != self.picker.choices:
            self.controls.cycle.set_choices(self.picker.choices)
        self.apply_settings()
        if self.current is None and not self.running:
            self._show_input()

    def clear_views(self) -> None:
        """A new model: stop the run, forget its images and list the new classes."""
        self.stop_run()
        self.current = self.start = self._latest = None
        self.view.canvas.clear_image()
        self.view.set_title("")
        self.view.detail.setText("")
        model = self.state.model
        if model is not None:
            names = [model.class_name(i) for i in range(len(model.categories))]
            self.controls.set_classes(names, self.state.target)

    def apply_settings(self) -> None:
        """Write the controls into the running dream's config (applied from its next step)."""
        cfg = self.config
        self.controls.fill(cfg)
        cfg.layer = self.layer
        model = self.state.model
        if cfg.objective == "guided" and model is not None:
            guide = self.controls.guide_image()
            key = (id(model), id(guide))
            if guide is not None and key != self._guide_key:
                cfg.guide = model.preprocess(guide).detach().cpu().to(model.device)
                self._guide_key = key
        target = cfg.target if cfg.target is not None else self.state.target
        name = model.class_name(target) if model is not None and target >= 0 else "target class"
        self.plots.describe(cfg.objective, name, cfg.prob_every)

    def start_run(self) -> None:
        """Start a dream from the current image (or noise) with the current settings."""
        model = self.state.model
        if model is None or self.state.input_tensor is None or not self.layer:
            self.show_error("Load a model and an image first.")
            return
        self.stop_run()
        self.config = DreamConfig()
        self._guide_key = None
        self.apply_settings()
        if self.controls.full_resolution and self.state.image is not None:
            x = full_resolution_input(model, self.state.image)
        else:
            x = self.state.input_tensor
        self.run_model = model
        self.start = start_image(model, x, self.config)
        self.current, self._latest, self._progress = self.start, None, (0, 0)
        self.records = []
        self.gate.set()
        cfg = self.config
        label = (f"cycle of {len(cfg.cycle)}" if cfg.cycle else cfg.layer) + f" · step {cfg.step_size:.2g}"
        self._curves = self.plots.start_run(label)
        inbox = StepInbox()
        task = self.submit("run", "Dreaming…", dream_job, model, x, cfg, self.gate, inbox,
                           done=lambda _image: None)
        ident = task.ident
        self._run_ident = ident
        task.partial.connect(lambda item: self._collect(ident, item[2], item[:2]))
        task.finished.connect(lambda: self._run_finished(ident, inbox))
        self._update_buttons()
        self._redraw()

    def toggle_pause(self) -> None:
        """Pause a running dream, or resume a paused one."""
        if self.paused:
            self.gate.set()
            self.show_info("")
        elif self.running:
            self.gate.clear()
            self.show_info("Paused: other panes' work waits until the run resumes or stops.")
        self._update_buttons()

    def stop_run(self) -> None:
        """Stop the run after its current step; its image and records are kept."""
        if self.running:
            self.controller.compute.cancel(f"{self.key}:run")
        if self.paused:
            self.gate.set()
            self.show_info("")
        self._update_buttons()

    def reset(self) -> None:
        """Stop the run and show its start image again."""
        self.stop_run()
        if self.start is not None:
            self.current, self._latest = self.start, None
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
            self.show_info("Stopped: the pane was hidden (the other panes need the compute thread).")

    def _image_replaced(self) -> None:
        self.stop_run()
        self.current = self.start = self._latest = None

    def _collect(self, ident: int, inbox: StepInbox, progress: tuple[int, int] | None = None) -> None:
        if ident != self._run_ident:
            return
        if progress is not None:
            self._progress = progress
        records, latest = inbox.take()
        if records and self._curves is not None:
            self.records.extend(records)
            self._curves.add(records)
        if latest is not None:
            self.current, self._latest = latest.image, latest
        message = next((r.message for r in records if r.message), None)
        if message:
            self.show_error(message)
        if (records or latest is not None) and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _run_finished(self, ident: int, inbox: StepInbox) -> None:
        self._collect(ident, inbox)
        if ident == self._run_ident:
            self.gate.set()
            self._update_buttons()
            self._redraw()

    def _redraw(self) -> None:
        self._redraw_timer.stop()
        model = self.run_model
        if model is None or self.current is None:
            return
        self.view.canvas.set_image(image_array(model.deprocess(self.current)), levels=(0, 255))
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
        self.view.set_title("Input · press Start (Ctrl+Return) to dream")
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
        suggested = str(default_folder() / f"cnnviz-{self._export_name()}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save dreamed image", suggested, "PNG image (*.png)")
        if not path:
            return
        try:
            saved = self.save_image(path)
        except OSError as error:
            show_error(self, "Could not save the image", str(error))
            return
        self.state.show_status(f"Saved {saved}")

    def _export_name(self) -> str:
        return f"dream-{self.config.layer or 'image'}".replace("/", "_")
