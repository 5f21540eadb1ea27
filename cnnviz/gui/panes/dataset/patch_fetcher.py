"""The Fig. 2 patches of the units on the Dataset pane's screen: the scan analysis's second stage
(:func:`cnnviz.analyses.scan.patch_steps`) for the units of the view still without projected hits, on the
compute worker; each of its results (the partial ones as they come, then the last) hands the projected hits
over to the view."""

import functools
from collections.abc import Callable

from PySide6.QtCore import QObject

from cnnviz.analyses import scan as scan_analysis
from cnnviz.analyses.base import Source
from cnnviz.analyses.scan import ScanAnalysis
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.gui.panes.dataset.jobs import PatchesRequest
from cnnviz.gui.panes.dataset.view import ScanView
from cnnviz.gui.panes.parts.job_runner import JobRunner


class PatchFetcher(QObject):
    """Computes patches with ``jobs`` (one job at a time: a new request replaces a running one, the same one
    running is left alone) and keeps those of a request still ``current(request)`` in ``view``
    (:meth:`ScanView.add_patches`), calling ``arrived()`` when new ones came for the layer it shows."""

    def __init__(self, jobs_: JobRunner, view: ScanView, current: Callable[[PatchesRequest], bool],
                 arrived: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.view, self.current, self.arrived = jobs_, view, current, arrived
        self.request: PatchesRequest | None = None

    def fetch(self, model: LoadedModel, ds: ImageDataset, index: ScanIndex, settings: scan_analysis.Settings,
              channels: tuple[int, ...]) -> None:
        """Project the hits of ``channels`` of the layer ``settings`` show (``settings.layer``) in ``index``, a
        scan of ``ds`` by ``model``."""
        layer = settings.layer
        request = PatchesRequest(model, index, layer, channels)
        if self.jobs.is_running("patches") and request.same(self.request):
            return
        self.request = request
        steps = functools.partial(scan_analysis.patch_steps, channels=channels)
        task = self.jobs.submit("patches", f"Projecting {len(channels)} units of {layer}…", steps, model,
                                Source.of_dataset(ds), index, settings,
                                done=lambda result: self._deliver(request, result))
        task.partial.connect(lambda item: self._deliver(request, item.partial))

    def forget(self) -> None:
        """Forget the last request (a new index: the same units are asked for again)."""
        self.request = None

    def _deliver(self, request: PatchesRequest, result: ScanAnalysis) -> None:
        if not self.current(request):
            return
        new = self.view.add_patches(request.layer, result.hit_patches)
        if new and request.layer == self.view.view_layer:
            self.arrived()
