"""The Training pane's tabs: *Curves* (built with the pane) and *Confusion*, *Evolution* and *Layer probes*, whose
parts are built the first time their tab is shown (their plots would add a fifth to the time the window takes to
appear, for tabs few sessions open). The pane's figure is this tab widget; its export is the analysis result of
the tab shown (:meth:`TrainingViews.result`)."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from cnnviz.analyses.base import Result
from cnnviz.gui.panes.training.curves_view import CurvesView

TABS = (("curves", "Curves"), ("confusion", "Confusion"), ("evolution", "Evolution"), ("probes", "Layer probes"))
"""The tabs' names and titles, in order."""


class TrainingViews(QTabWidget):
    """The tabs; ``make[name]()`` builds the part of tab ``name`` (an object with ``widget`` and ``result``);
    ``curves_result()`` is the Curves tab's result; ``changed()`` follows a change of tab."""

    def __init__(self, curves_view: CurvesView, make: dict[str, Callable[[], Any]],
                 curves_result: Callable[[], Result | None], changed: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves_view, self._make, self._curves_result = curves_view, make, curves_result
        self._parts: dict[str, Any] = {}
        for name, title in TABS:
            if name == "curves":
                self.addTab(curves_view, title)
                continue
            page = QWidget()
            page.setObjectName(f"training_{name}")
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self.addTab(page, title)
        self.currentChanged.connect(lambda _index: self._shown(changed))

    def current_name(self) -> str:
        """The name of the tab shown."""
        return TABS[max(self.currentIndex(), 0)][0]

    def show_view(self, name: str) -> Any:
        """Bring tab ``name`` to the front; its part (the curves view for "curves")."""
        self.setCurrentIndex([tab for tab, _ in TABS].index(name))
        return self.part(name)

    def part(self, name: str) -> Any:
        """The part of tab ``name``, built now if it was not (the curves view for "curves")."""
        if name == "curves":
            return self.curves_view
        if name not in self._parts:
            part = self._make[name]()
            page = self.widget([tab for tab, _ in TABS].index(name))
            layout = page.layout() if page is not None else None
            assert layout is not None
            layout.addWidget(part.widget)
            self._parts[name] = part
        return self._parts[name]

    def built(self, name: str) -> Any | None:
        """The part of tab ``name`` if it was built, else None."""
        return self._parts.get(name)

    def result(self) -> Result | None:
        """The analysis result of the tab shown (None: nothing to export): the confusion matrix drawn as shown
        (counts or shares), the evolution grid, the layer probes, or the ticked runs' curves."""
        name = self.current_name()
        if name == "curves":
            return self._curves_result()
        part = self._parts.get(name)
        if part is None:
            return None
        result = part.result
        if name == "confusion" and result is not None:
            shown = "row-normalised" if part.normalised() else "counts"
            return replace(result, settings=replace(result.settings, show=shown))
        return result

    def export_name(self) -> str:
        """The file name the export proposes."""
        return f"training-{self.current_name()}"

    def _shown(self, changed: Callable[[], None]) -> None:
        self.part(self.current_name())
        changed()
