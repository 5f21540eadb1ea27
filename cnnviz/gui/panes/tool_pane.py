"""What the filters, activations, deconvnet and the job-running panes have in common.

A :class:`ToolPane` is composed of parts (:mod:`cnnviz.gui.panes.parts`):

- ``layer_binding`` (:class:`~cnnviz.gui.panes.parts.layer_binding.LayerBinding`): the layer picker, listed
  on the compute worker once per model and kept in step with the app state (choosing a layer in one pane,
  or in the Architecture table, selects it in every pane that lists it), and the shared channel;
- ``jobs`` (:class:`~cnnviz.gui.panes.parts.job_runner.JobRunner`): the pane's core work on the controller's
  compute worker with a busy indicator, the info line, and the wait for captured layer outputs;
- ``settings_binding`` (:class:`~cnnviz.gui.panes.parts.settings_binding.SettingsBinding`): the controls
  registered as the pane's settings (sessions, ``cnnviz run --set``, remembered settings);
- ``figure_part`` (:class:`~cnnviz.gui.panes.parts.figure_part.FigurePart`): the figure, its export,
  *Add to report* and caption.

The pane drops results that arrive after the model, input or selection changed, and only computes while it
is visible: changes made while it is hidden are caught up when it is shown. :meth:`ToolPane.refresh` may run
more than once for one change, so subclasses skip work whose result is already shown or running.

Subclasses implement :meth:`~ToolPane.refresh` (show the current selection, requesting what is missing),
:meth:`~ToolPane.clear_views` and, where they show layer outputs, :meth:`~ToolPane.output_ready`; they
override the caption hooks (:meth:`~ToolPane.caption_fields`, :meth:`~ToolPane.analysis_result`, …). They
register each control that changes what they show (``self.settings_binding.register(...)``);
:meth:`~ToolPane.settings` and :meth:`~ToolPane.apply_settings` then save and set them, and
:meth:`~ToolPane.apply_settings_when_listed` waits until the layers of a model still loading are listed.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLayout, QVBoxLayout, QWidget

from cnnviz.analyses.base import Result
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.parts.figure_part import FigurePart
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.parts.layer_binding import LayerBinding, ListLayers
from cnnviz.gui.panes.parts.settings_binding import Done, SettingsBinding
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.figure_area import FIGURE_MIN_SIZE
from cnnviz.gui.widgets.figure_export import ExtraFn
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.shortcuts import add_layer_keys

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
    gives the layers it offers (run on the compute worker); :meth:`default_layer` picks one
    when the shared selection names none of them. ``layer_keys``: PgUp/PgDn step the layer (False for
    a pane that gives these keys another meaning). ``share_layer``: choosing a layer in this pane selects
    it everywhere (False: only in this pane's picker).

    Attributes besides the parts: ``key``, ``state``, ``controller``, ``store`` (the activation store),
    and, as the app and the tests use them on every pane, the parts' widgets ``picker``, ``busy``, ``info``
    and registry ``controls``; after :meth:`make_figure`, ``figure``, ``figure_area``, ``export`` and
    ``report_action``. ``report_requested`` is emitted by the figure's *Add to report* context-menu entry.
    """

    report_requested = Signal()

    def __init__(self, context: PaneContext, key: str, list_layers: ListLayers, parent: QWidget | None = None,
                 *, layer_keys: bool = True, share_layer: bool = True) -> None:
        super().__init__(parent)
        self.key = key
        self.state = context.state
        self.controller = context.controller
        self._dirty = True
        self.jobs = JobRunner(key, self.state, self.controller, self)
        self.layer_binding = LayerBinding(
            self.state, self.jobs, list_layers, changed=self.schedule, cleared=self.clear_views,
            default_layer=self.default_layer, channel_selected=self.channel_selected,
            output_ready=self.output_ready, shared=share_layer, parent=self)
        self.settings_binding = SettingsBinding(key, self.layer_binding, changed=self.schedule,
                                                layer_applied=self.layer_applied, parent=self)
        self.figure_part = FigurePart(key, self.state, self, caption_fields=self.caption_fields,
                                      figure_partial=self.figure_partial, caption_dataset=self.caption_dataset,
                                      analysis_result=self.analysis_result)
        self.figure_part.report_requested.connect(self.report_requested)
        self.store, self.busy, self.info = self.jobs.store, self.jobs.busy, self.jobs.info
        self.picker, self.controls = self.layer_binding.picker, self.settings_binding.controls
        shrinkable(self.picker)
        self.state.input_changed.connect(self._input_changed)
        if layer_keys:
            add_layer_keys(self, self.picker.step)

    @property
    def layer(self) -> str:
        """The layer shown ("" before the model's layers are listed)."""
        return self.layer_binding.layer

    @property
    def settled(self) -> bool:
        """True when nothing this pane asked for is still being computed."""
        return self.jobs.settled and not self._dirty

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The layer to show when the shared selection is none of ``choices`` (default: the first)."""
        return choices[0].name

    def layer_applied(self) -> None:
        """The layer was set from settings, before the controls are: match the controls that depend on
        it (ranges) so that the settings' values fit (subclasses)."""

    def caption_fields(self) -> dict[str, Any]:
        """The analysis fields of this pane's figure caption: layer, unit, method, target and every
        parameter that changes what it shows, in display order (subclasses add theirs)."""
        return {"layer": self.layer} if self.layer else {}

    def figure_partial(self) -> bool:
        """True if the figure shows a partial result (a cancelled or failed run)."""
        return False

    def caption_dataset(self) -> str | None:
        """The name of the dataset the figure is about (its caption then names it, not the image);
        None (here) for a figure about the current image."""
        return None

    def analysis_result(self) -> Result | None:
        """The result shown now as the analysis layer's ``Result`` (its report figure is the export), or None
        (here: the pane has no analysis; its figure widget is rendered instead)."""
        return None

    def caption(self) -> Caption:
        """The caption of the figure shown now (``figure_part.caption()``): the current image's, or the
        dataset's (:meth:`caption_dataset`). What *Export figure…* and the report use: a pane may make its
        own."""
        return self.figure_part.caption()

    def settings(self) -> dict[str, Value]:
        """This pane's settings (what sessions save): the layer, every registered control and the extra
        settings (``settings_binding.settings()``)."""
        return self.settings_binding.settings()

    def apply_settings(self, values: dict[str, Value], strict: bool = True) -> dict[str, str]:
        """Set the settings in ``values`` (as from :meth:`settings`); returns {name: reason} for those that
        could not be set. ``strict``: an unknown name raises KeyError."""
        return self.settings_binding.apply_settings(values, strict)

    def apply_settings_when_listed(self, values: dict[str, Value], done: Done | None = None) -> None:
        """Apply ``values`` (as from :meth:`settings`, unknown names reported, not raised) once this pane lists
        the current model's layers (``settings_binding.apply_settings_when_listed``); ``done(problems)``
        follows with {name: reason} for what could not be set."""
        self.settings_binding.apply_settings_when_listed(values, done)

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
        """A layer output of this pane's layer arrived (subclasses that use layer outputs)."""

    def channel_selected(self, channel: int | None) -> None:
        """The shared channel selection of this pane's layer changed (None: none) (subclasses)."""
        self.schedule()

    def make_figure(self, name: Callable[[], str], data: Callable[[], dict], *parts: QWidget | QLayout,
                    stretch: int = -1, extra: ExtraFn | None = None,
                    min_size: tuple[int, int] = FIGURE_MIN_SIZE) -> QWidget:
        """The pane's figure (what *Export figure…* saves; ``figure_part.make``, which see for the arguments);
        sets ``self.figure``, ``self.figure_area`` (lay this out, not the figure), ``self.export`` and
        ``self.report_action``."""
        part = self.figure_part
        self.figure = part.make(name, data, *parts, stretch=stretch, extra=extra, min_size=min_size,
                                caption=self.caption)
        self.figure_area, self.export, self.report_action = part.area, part.export, part.report_action
        return self.figure

    def arrange(self, *option_rows: QLayout | QWidget, layer_widgets: Sequence[QWidget] = (),
                body: QWidget | None = None, with_layer_row: bool = True) -> None:
        """Lay the pane out (after :meth:`make_figure`): the layer row (the picker, ``layer_widgets`` and
        *Export figure…*; left out without ``with_layer_row``), ``option_rows`` (layouts or widgets),
        ``body`` (default: the figure's scroll area; stretching) and the status row."""
        layout = QVBoxLayout(self)
        rows = (self.layer_binding.row(*layer_widgets, self.export.button),) if with_layer_row else ()
        for row in (*rows, *option_rows):
            if isinstance(row, QLayout):
                layout.addLayout(row)
            else:
                layout.addWidget(row)
        layout.addWidget(self.figure_area if body is None else body, 1)
        layout.addLayout(self.jobs.status_row())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Catch up with changes made while hidden."""
        super().showEvent(event)
        if self._dirty:
            self.schedule()

    def _input_changed(self, _tensor: object) -> None:
        self.schedule()
