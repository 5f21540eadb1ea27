"""What the filters, activations and deconvnet panes have in common.

A :class:`ToolPane` lists the current model's layers in a :class:`~cnnviz.gui.widgets.layer_picker.LayerPicker`
(listed on the compute worker once per model), keeps its layer and channel in step with the app
state (choosing a layer in one pane, or in the Architecture table, selects it in every pane that
lists it), runs its core work on the controller's compute worker with a busy indicator, drops
results that arrive after the model, input or selection changed, and only computes while it is
visible: changes made while it is hidden are caught up when it is shown. :meth:`refresh` may run
more than once for one change, so subclasses skip work whose result is already shown or running.

Subclasses implement :meth:`refresh` (show the current selection, requesting what is missing),
:meth:`clear_views` and, where they show layer outputs, :meth:`output_ready`. They :meth:`register` each
control that changes what they show; :meth:`settings` and :meth:`apply_settings` then save and set them
(sessions, ``cnnviz run --set``, remembered settings), and :meth:`apply_settings_when_listed` waits until
the layers of a model still loading are listed.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.analyses import registry
from cnnviz.analyses.base import Result
from cnnviz.core.caption import Caption, for_model
from cnnviz.core.models import LoadedModel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.runtime.control_state import Control, Controls, Value
from cnnviz.gui.runtime.worker import Task, Worker
from cnnviz.gui.widgets.busy_indicator import BusyIndicator
from cnnviz.gui.widgets.figure_area import FIGURE_MIN_SIZE, FigureArea, FigureWidget
from cnnviz.gui.widgets.figure_export import ExtraFn, FigureExport
from cnnviz.gui.widgets.figure_render import ExportOptions
from cnnviz.gui.widgets.layer_picker import LayerChoice, LayerPicker
from cnnviz.gui.widgets.shortcuts import add_layer_keys

ERROR_STYLE = "QLabel { color: #c62828; }"
SHRUNK_WIDTH = 56
"""Least width of a toolbar control: controls keep their natural width when there is room and
shrink (eliding their text) in a narrow window."""


def same_request(a: Any, b: Any) -> bool:
    """True if two requests ask for the same thing: dataclasses of one type (e.g. a pane's frozen
    request) or tuples, whose models and tensors are the same objects (compared by identity) and
    whose other values are equal. None equals only None."""
    if a is None or b is None:
        return a is b
    if dataclasses.is_dataclass(a):
        if type(a) is not type(b):
            return False
        a, b = (tuple(getattr(r, f.name) for f in dataclasses.fields(r)) for r in (a, b))
    if len(a) != len(b):
        return False
    return all(x is y or (not isinstance(x, (torch.Tensor, LoadedModel)) and x == y) for x, y in zip(a, b))


def shrinkable(*widgets: QWidget) -> None:
    """Let ``widgets`` shrink to :data:`SHRUNK_WIDTH` pixels in a narrow pane."""
    for widget in widgets:
        widget.setMinimumWidth(SHRUNK_WIDTH)


class ToolPane(QWidget):
    """Base of the tool panes; see the module docstring.

    ``key`` names the pane's background jobs and its activation requests; ``list_layers(model)``
    gives the layers it offers (run on the compute worker); ``default_layer(choices)`` picks one
    when the shared selection names none of them. ``layer_keys``: PgUp/PgDn step the layer (False for
    a pane that gives these keys another meaning).

    ``report_requested`` is emitted by the figure's *Add to report* context-menu entry.
    """

    report_requested = Signal()

    def __init__(self, context: PaneContext, key: str,
                 list_layers: Callable[[LoadedModel], list[LayerChoice]],
                 parent: QWidget | None = None, *, layer_keys: bool = True) -> None:
        super().__init__(parent)
        self.key = key
        self.state = context.state
        self.controller = context.controller
        self.store = context.controller.activations
        self.list_layers = list_layers
        self.picker = LayerPicker()
        shrinkable(self.picker)
        self.controls = Controls(key, self)
        self.busy = BusyIndicator()
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._jobs: dict[str, str] = {}
        self._job_idents: dict[str, int] = {}
        self._waiting_for = ""
        self._dirty = True
        self._showing_error = False
        self._listed_for: LoadedModel | None = None
        self._pending: tuple[dict[str, Value], Callable[[dict[str, str]], None] | None] | None = None
        self.picker.layer_chosen.connect(self.choose_layer)
        self.state.model_changed.connect(self._model_changed)
        self.state.input_changed.connect(lambda _tensor: self.schedule())
        self.state.image_changed.connect(lambda _image: self._input_gone())
        self.state.layer_changed.connect(self._state_layer_changed)
        self.state.channel_changed.connect(self._state_channel_changed)
        self.store.captured.connect(self._captured)
        self.store.failed.connect(self._capture_failed)
        if layer_keys:
            add_layer_keys(self, self.picker.step)

    @property
    def layer(self) -> str:
        """The layer shown ("" before the model's layers are listed)."""
        choice = self.picker.current()
        return choice.name if choice is not None else ""

    @property
    def choice(self) -> LayerChoice | None:
        """The :class:`LayerChoice` of the layer shown."""
        return self.picker.current()

    @property
    def settled(self) -> bool:
        """True when nothing this pane asked for is still being computed."""
        return not self._jobs and not self._waiting_for and not self._dirty

    @property
    def error(self) -> str:
        """The error shown on the info line (a failed job), "" when none is."""
        return self.info.text() if self._showing_error else ""

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The layer to show when the shared selection is none of ``choices`` (default: the first)."""
        return choices[0].name

    def caption_fields(self) -> dict[str, Any]:
        """The analysis fields of this pane's figure caption: layer, unit, method, target and every
        parameter that changes what it shows, in display order (subclasses add theirs)."""
        return {"layer": self.layer} if self.layer else {}

    def class_text(self, index: int | None) -> str:
        """Class ``index`` of the current model for a caption: ``"name (index)"``; ``"top-1"`` for None."""
        if index is None or index < 0:
            return "top-1"
        model = self.state.model
        return f"{model.class_name(index)} ({index})" if model is not None else str(index)

    def figure_partial(self) -> bool:
        """True if the figure shows a partial result (a cancelled or failed run)."""
        return False

    def caption(self) -> Caption:
        """The caption of the figure shown now (:mod:`cnnviz.core.caption`): the current image, or the
        dataset when the figure is about one (:meth:`caption_dataset`)."""
        dataset = self.caption_dataset()
        image = self.state.image_name if dataset is None else ""
        return for_model(self.key, self.state.model, image, self.caption_fields(), self.figure_partial(),
                         dataset=dataset or "")

    def analysis_result(self) -> Result | None:
        """The result shown now as the analysis layer's ``Result`` (its report figure is the export), or None
        (here: the pane has no analysis; its figure widget is rendered instead)."""
        return None

    def report_figure(self, options: ExportOptions) -> Figure | None:
        """The report figure of :meth:`analysis_result` drawn by its analysis at ``options``; None without one."""
        result = self.analysis_result()
        if result is None:
            return None
        analysis = registry.get(result.analysis)
        return analysis.figure(result, width_mm=options.width_mm, dpi=options.dpi, width_px=options.width_px,
                               caption=options.caption)

    def caption_dataset(self) -> str | None:
        """The name of the dataset the figure is about (its caption then names it, not the image);
        None (here) for a figure about the current image."""
        return None

    def register(self, **controls: Control) -> None:
        """Register each of ``controls`` under its keyword as a setting (:meth:`Controls.add`), in order."""
        for name, control in controls.items():
            self.controls.add(name, control)

    def settings(self) -> dict[str, Value]:
        """This pane's settings (what sessions save): the layer and every registered control
        (:attr:`controls`), plus :meth:`extra_settings`."""
        values: dict[str, Value] = {"layer": self.layer} if self.layer else {}
        return values | self.controls.state() | self.extra_settings()

    def extra_settings(self) -> dict[str, Value]:
        """Settings that are not a control's value (computed curves, a dream cycle) (subclasses)."""
        return {}

    def apply_settings(self, values: dict[str, Value], strict: bool = True) -> dict[str, str]:
        """Set the settings in ``values`` (as from :meth:`settings`); returns {name: reason} for those that
        could not be set. ``strict``: an unknown name raises KeyError first."""
        values = dict(values)
        problems: dict[str, str] = {}
        layer = values.pop("layer", None)
        if layer is not None:
            if self.picker.choice(str(layer)) is None:
                problems["layer"] = f"no layer {layer!r} in this pane's list"
            else:
                self.choose_layer(str(layer))
                self.layer_applied()
        own = {k: values.pop(k) for k in list(values) if k in self.controls.controls}
        problems |= self.controls.apply(own)
        problems |= self.apply_extra_settings(values, strict)
        return problems

    def apply_settings_when_listed(self, values: dict[str, Value],
                                   done: Callable[[dict[str, str]], None] | None = None) -> None:
        """Apply ``values`` (as from :meth:`settings`, unknown names reported, not raised) once this pane
        lists the current model's layers: now if it does, else when they are listed (a later call replaces
        a waiting one). The pane's layer is selected here only (the shared selection stays);
        ``done(problems)`` follows with {name: reason} for what could not be set."""
        self._pending = (dict(values), done)
        if self.state.model is not None and self._listed_for is self.state.model:
            self._apply_pending()

    def _apply_pending(self) -> None:
        if self._pending is None:
            return
        (values, done), self._pending = self._pending, None
        layer = values.pop("layer", None)
        problems: dict[str, str] = {}
        if layer is not None and self.picker.select(str(layer)):
            self.layer_applied()
        elif layer is not None:
            problems["layer"] = f"no layer {layer!r} in this pane's list"
        problems |= self.apply_settings(values, strict=False)
        self.schedule()
        if done is not None:
            done(problems)

    def layer_applied(self) -> None:
        """The layer was set from settings, before the controls are: match the controls that depend on
        it (ranges) so that the settings' values fit (subclasses)."""

    def apply_extra_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Set what :meth:`extra_settings` gave (subclasses); unknown names raise KeyError if
        ``strict``, else are returned as problems."""
        if values and strict:
            raise KeyError(f"{self.key} has no setting {', '.join(map(repr, values))}; "
                           f"settings: {', '.join(['layer', *self.controls.controls])}")
        return dict.fromkeys(values, "no such setting")

    def state_channel(self) -> int | None:
        """The shared channel selection if it belongs to this pane's layer, else None."""
        if self.state.layer == self.layer and self.state.channel >= 0:
            return self.state.channel
        return None

    def choose_layer(self, name: str) -> None:
        """The user picked layer ``name`` here: select it everywhere (and its channel: none)."""
        self.picker.select(name)
        self.state.set_layer(name)
        self.schedule()

    def choose_channel(self, channel: int) -> None:
        """The user picked ``channel`` (-1: none) of this pane's layer: select layer and channel
        everywhere."""
        if self.state.layer != self.layer:
            self.state.set_layer(self.layer)
        self.state.set_channel(channel)

    def schedule(self) -> None:
        """Refresh now if visible, else when next shown."""
        self._dirty = True
        if self.isVisible() and self.layer and self.state.model is not None:
            self._dirty = False
            self.refresh()

    def refresh(self) -> None:
        """Show the current selection, requesting what is not computed yet (subclasses)."""
        raise NotImplementedError

    def clear_views(self) -> None:
        """Show nothing (a new model is being listed) (subclasses)."""
        raise NotImplementedError

    def output_ready(self, output: LayerOutput) -> None:
        """A layer output this pane asked for arrived (subclasses that use layer outputs)."""

    def channel_selected(self, channel: int | None) -> None:
        """The shared channel selection of this pane's layer changed (None: none) (subclasses)."""
        self.schedule()

    def request_output(self, layer: str) -> LayerOutput | None:
        """The output of ``layer`` for the current input if cached, else None and
        :meth:`output_ready` follows."""
        output = self.store.request(layer, self.key)
        self._waiting_for = "" if output is not None or self.state.input_tensor is None else layer
        self._update_busy()
        return output

    def submit(self, job: str, text: str, function: Callable[..., Any], *args: Any,
               done: Callable[[Any], None], worker: Worker | None = None) -> Task:
        """Run ``function(*args)`` on the compute worker (or ``worker``, e.g. the controller's loader for
        work that does not touch the model) as this pane's ``job`` (a newer one of the same job replaces
        it); ``done(result)`` runs on success. ``text`` shows while it runs; a failure shows on the info
        line until the next job starts."""
        if self._showing_error:
            self.show_info("")
        self._jobs[job] = text
        self._update_busy()
        task = (worker or self.controller.compute).submit(function, *args, key=f"{self.key}:{job}")
        ident = task.ident
        task.succeeded.connect(done)
        task.failed.connect(lambda error: self.show_error(f"{text.rstrip('…')} failed: {error}"))
        task.finished.connect(lambda: self._job_finished(job, ident))
        self._job_idents[job] = ident
        return task

    def is_running(self, job: str) -> bool:
        """True while this pane's ``job`` has not finished."""
        return job in self._jobs

    def show_error(self, message: str) -> None:
        """Show ``message`` in red on the info line."""
        self._showing_error = True
        self.info.setStyleSheet(ERROR_STYLE)
        self.info.setText(message)
        self.info.setToolTip(message)

    def show_info(self, text: str) -> None:
        """Show ``text`` on the info line (hover details, hints)."""
        self._showing_error = False
        self.info.setStyleSheet("")
        self.info.setText(text)
        self.info.setToolTip("")

    def make_figure(self, name: Callable[[], str], data: Callable[[], dict], *parts: QWidget | QLayout,
                    stretch: int = -1, extra: ExtraFn | None = None,
                    min_size: tuple[int, int] = FIGURE_MIN_SIZE) -> QWidget:
        """The pane's figure (what *Export figure…* saves): ``parts`` (widgets or layouts, e.g. a grid
        of panels or a header row) stacked without margins, part ``stretch`` (default: the last)
        taking the spare height; sets ``self.figure``, ``self.figure_area`` (the
        :class:`~cnnviz.gui.widgets.figure_area.FigureArea` around it, scrolling below ``min_size``
        (width, height) in pixels: lay this out, not the figure), ``self.export`` (file name from
        ``name()``, raw arrays from ``data()``, other files written beside the figure's CSV by ``extra``,
        the caption from :meth:`caption`, options remembered in the settings) and ``self.report_action``
        (the context menu's *Add to report*)."""
        self.figure = FigureWidget(min_size)
        layout = QVBoxLayout(self.figure)
        layout.setContentsMargins(0, 0, 0, 0)
        stretching = stretch % len(parts) if parts else 0
        for index, part in enumerate(parts):
            factor = 1 if index == stretching else 0
            if isinstance(part, QLayout):
                part.setContentsMargins(0, 0, 0, 0)
                layout.addLayout(part, factor)
            else:
                layout.addWidget(part, factor)
        self.export = FigureExport(self.figure, name, data, self.state.show_status, self, extra,
                                   caption=self.caption, memory=settings_store, report_figure=self.report_figure)
        self.report_action = QAction("Add to report", self.figure)
        self.figure.addAction(self.report_action)
        self.report_action.triggered.connect(lambda _checked=False: self.report_requested.emit())
        self.figure_area = FigureArea(self.figure)
        return self.figure

    def layer_row(self, *widgets: QWidget) -> QHBoxLayout:
        """The top row: the layer picker, ``widgets`` and the *Export figure…* button (after
        :meth:`make_figure`)."""
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.picker, 1)
        for widget in widgets:
            row.addWidget(widget)
        row.addWidget(self.export.button)
        return row

    def arrange(self, *option_rows: QLayout | QWidget, layer_widgets: Sequence[QWidget] = (),
                body: QWidget | None = None, with_layer_row: bool = True) -> None:
        """Lay the pane out: the layer row (with ``layer_widgets``; left out without
        ``with_layer_row``), ``option_rows`` (layouts or widgets), ``body`` (default: the figure's
        scroll area; stretching) and the status row."""
        layout = QVBoxLayout(self)
        rows = (self.layer_row(*layer_widgets),) if with_layer_row else ()
        for row in (*rows, *option_rows):
            if isinstance(row, QLayout):
                layout.addLayout(row)
            else:
                layout.addWidget(row)
        layout.addWidget(self.figure_area if body is None else body, 1)
        layout.addLayout(self.status_row())

    def status_row(self) -> QHBoxLayout:
        """A row with the info line and the busy indicator, for the bottom of the pane."""
        row = QHBoxLayout()
        row.addWidget(self.info, 1)
        row.addWidget(self.busy)
        return row

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Catch up with changes made while hidden."""
        super().showEvent(event)
        if self._dirty:
            self.schedule()

    def _update_busy(self) -> None:
        texts = list(self._jobs.values())
        if self._waiting_for:
            texts.insert(0, f"Capturing {self._waiting_for}…")
        self.busy.set_busy(texts[-1] if texts else "")

    def _job_finished(self, job: str, ident: int) -> None:
        if self._job_idents.get(job) == ident:
            self._jobs.pop(job, None)
            self._update_busy()

    def _model_changed(self, model: LoadedModel) -> None:
        self._listed_for = None
        self.picker.set_choices([])
        self._waiting_for = ""
        self.clear_views()
        self.show_info("Listing the layers…")
        self.submit("layers", "Listing layers…", self.list_layers, model,
                    done=lambda choices: self._layers_listed(model, choices))

    def _layers_listed(self, model: LoadedModel, choices: list[LayerChoice]) -> None:
        if model is not self.state.model:
            return
        self.picker.set_choices(choices)
        self.picker.setEnabled(bool(choices))
        self._listed_for = model
        if not choices:
            self.show_info("This model has no layer this pane can show.")
            self._apply_pending()
            return
        self.show_info("")
        shared = self.state.layer
        self.picker.select(shared if self.picker.choice(shared) else self.default_layer(choices))
        self._apply_pending()
        self.schedule()

    def _input_gone(self) -> None:
        self._waiting_for = ""
        self._update_busy()

    def _state_layer_changed(self, name: str) -> None:
        if name and name != self.layer and self.picker.select(name):
            self.schedule()

    def _state_channel_changed(self, channel: int) -> None:
        if self.state.layer == self.layer and self.layer:
            self.channel_selected(channel if channel >= 0 else None)

    def _captured(self, output: LayerOutput) -> None:
        if output.layer == self._waiting_for:
            self._waiting_for = ""
            self._update_busy()
        if output.layer == self.layer:
            self.output_ready(output)

    def _capture_failed(self, layer: str, message: str) -> None:
        if layer == self._waiting_for:
            self._waiting_for = ""
            self._update_busy()
            self.show_error(f"Capturing {layer} failed: {message}")
