"""The scan analysis's settings of the Dataset pane, read from its form (:func:`~.pane.scan_form`: the order,
units per page and threshold): those of a scan it starts (:func:`scan_settings`) and those of what it shows
(:func:`shown_settings`). A selectivity order on a dataset without labels becomes the order by number, as the
form's combo box does once such a scan is shown."""

from collections.abc import Sequence
from typing import Any

from cnnviz.analyses import scan as scan_analysis
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.gui.panes.dataset.fig2 import page_count
from cnnviz.gui.widgets.settings_form import SettingsForm


def _order(form: SettingsForm, labelled: bool) -> str:
    sort = str(form.value("sort"))
    return "index" if sort == "selectivity" and not labelled else sort


def scan_settings(form: SettingsForm, ds: ImageDataset, layers: Sequence[str], resume: ScanIndex | None,
                  **fixed: Any) -> scan_analysis.Settings:
    """The settings of a scan of ``ds`` over ``layers`` continuing ``resume`` (None: from the start; its hits
    per unit kept) with the form's values and ``fixed`` ones (batch size, workers)."""
    kept = {"k": resume.k} if resume is not None else {}
    return form.settings(layers=tuple(layers), sort=_order(form, ds.labels is not None), **kept, **fixed)


def shown_settings(form: SettingsForm, index: ScanIndex, layer: str, page: int, **fixed: Any
                   ) -> scan_analysis.Settings:
    """The settings of page ``page`` (at most the last) of ``layer`` in ``index`` with the form's values and
    ``fixed`` ones (batch size, workers)."""
    pages = page_count(index.channels(layer), int(form.value("per_page")))
    return form.settings(layers=tuple(index.layers), layer=layer, k=index.k, page=min(page, pages),
                         sort=_order(form, index.labels is not None), **fixed)
