"""A pane's figure: the widget *Export figure…* saves, its export, its *Add to report* action and its caption.

A :class:`FigurePart` is made with the pane's caption hooks (``caption_fields()``, ``figure_partial()``,
``caption_dataset()``) and ``analysis_result()``; :meth:`FigurePart.make` then builds the figure from the
pane's panels. The caption (:meth:`FigurePart.caption`) names the model, the current image (or the dataset
the figure is about) and the analysis fields; the report figure (:meth:`FigurePart.report_figure`) is the
analysis's matplotlib figure of ``analysis_result()``, drawn by the analysis registry (None without a result:
the figure widget is rendered instead).
"""

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLayout, QVBoxLayout, QWidget

from cnnviz.analyses import registry
from cnnviz.analyses.base import Result
from cnnviz.core.files.caption import Caption, for_model
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.widgets.figure_area import FIGURE_MIN_SIZE, FigureArea, FigureWidget
from cnnviz.gui.widgets.figure_export import ExtraFn, FigureExport
from cnnviz.gui.widgets.figure_render import ExportOptions


def no_dataset() -> str | None:
    """The default ``caption_dataset``: the figure is about the current image."""
    return None


def stack(widget: QWidget, parts: tuple[QWidget | QLayout, ...], stretch: int = -1) -> None:
    """Stack ``parts`` (widgets or layouts) in ``widget`` without margins, part ``stretch`` (default: the
    last) taking the spare height."""
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    stretching = stretch % len(parts) if parts else 0
    for index, part in enumerate(parts):
        factor = 1 if index == stretching else 0
        if isinstance(part, QLayout):
            part.setContentsMargins(0, 0, 0, 0)
            layout.addLayout(part, factor)
        else:
            layout.addWidget(part, factor)


class FigurePart(QObject):
    """The figure of the pane ``key`` (``owner``, the pane widget); see the module docstring.

    Signal ``report_requested``: the figure's *Add to report* context-menu entry was chosen. Attributes set
    by :meth:`make` (absent before): ``figure`` (the :class:`~cnnviz.gui.widgets.figure_area.FigureWidget`),
    ``area`` (the :class:`~cnnviz.gui.widgets.figure_area.FigureArea` around it), ``export`` (its
    :class:`~cnnviz.gui.widgets.figure_export.FigureExport`) and ``report_action`` (*Add to report*).
    """

    report_requested = Signal()
    figure: FigureWidget
    area: FigureArea
    export: FigureExport
    report_action: QAction

    def __init__(self, key: str, state: AppState, owner: QWidget, *,
                 caption_fields: Callable[[], dict[str, Any]], figure_partial: Callable[[], bool],
                 caption_dataset: Callable[[], str | None] = no_dataset,
                 analysis_result: Callable[[], Result | None] = lambda: None) -> None:
        super().__init__(owner)
        self.key, self.state, self.owner = key, state, owner
        self._fields, self._partial, self._dataset = caption_fields, figure_partial, caption_dataset
        self._result = analysis_result

    def make(self, name: Callable[[], str], data: Callable[[], dict], *parts: QWidget | QLayout,
             stretch: int = -1, extra: ExtraFn | None = None, min_size: tuple[int, int] = FIGURE_MIN_SIZE,
             caption: Callable[[], Caption] | None = None) -> FigureWidget:
        """The figure: ``parts`` (widgets or layouts, e.g. a grid of panels or a header row) stacked without
        margins, part ``stretch`` (default: the last) taking the spare height, in a scroll area below
        ``min_size`` (width, height) in pixels (:attr:`area`: lay this out, not the figure). Its export
        suggests the file name ``name()``, offers the raw arrays ``data()``, writes other files beside the
        figure's CSV by ``extra``, captions with ``caption()`` (default: :meth:`caption`; a pane that makes its
        own caption passes it), draws :meth:`report_figure` and remembers its folder, formats and options in the
        settings, one value shared by every pane's export (only the file name is the pane's own)."""
        figure = FigureWidget(min_size)
        stack(figure, parts, stretch)
        self.export = FigureExport(figure, name, data, self.state.show_status, self.owner, extra,
                                   caption=caption or self.caption, memory=settings_store,
                                   report_figure=self.report_figure)
        self.report_action = QAction("Add to report", figure)
        figure.addAction(self.report_action)
        self.report_action.triggered.connect(lambda _checked=False: self.report_requested.emit())
        self.area = FigureArea(figure)
        self.figure = figure
        return figure

    def caption(self) -> Caption:
        """The caption of the figure shown now (:mod:`cnnviz.core.files.caption`): the current image, or the
        dataset when the figure is about one."""
        dataset = self._dataset()
        image = self.state.image_name if dataset is None else ""
        return for_model(self.key, self.state.model, image, self._fields(), self._partial(), dataset=dataset or "")

    def report_figure(self, options: ExportOptions) -> Figure | None:
        """The report figure of ``analysis_result()`` drawn by its analysis at ``options``; None without one."""
        result = self._result()
        if result is None:
            return None
        analysis = registry.get(result.analysis)
        return analysis.figure(result, width_mm=options.width_mm, dpi=options.dpi, width_px=options.width_px,
                               caption=options.caption)

    def class_text(self, index: int | None) -> str:
        """Class ``index`` of the current model for a caption: ``"name (index)"``; ``"top-1"`` for None (or
        a negative index)."""
        if index is None or index < 0:
            return "top-1"
        model = self.state.model
        return f"{model.class_name(index)} ({index})" if model is not None else str(index)
