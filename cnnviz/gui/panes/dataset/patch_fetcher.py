"""The Fig. 2 patches of the units on the Dataset pane's screen, computed on the compute worker
(:func:`~cnnviz.gui.panes.dataset.jobs.patches_job`) and handed over unit by unit as they come."""

from collections.abc import Callable

from PySide6.QtCore import QObject

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.gui.panes.dataset import jobs
from cnnviz.gui.panes.dataset.jobs import PatchesRequest
from cnnviz.gui.panes.parts.job_runner import JobRunner

Deliver = Callable[[PatchesRequest, dict[int, list[HitPatch]]], None]
"""Receives the patches found so far (channel -> hits, best first) for a request."""


class PatchFetcher(QObject):
    """Computes patches with ``jobs`` (one job at a time: a new request replaces a running one, the same one
    running is left alone) and hands each step's patches to ``deliver(request, found)``."""

    def __init__(self, jobs_: JobRunner, deliver: Deliver, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.deliver = jobs_, deliver
        self.request: PatchesRequest | None = None

    def fetch(self, model: LoadedModel, ds: ImageDataset, index: ScanIndex, layer: str,
              channels: tuple[int, ...]) -> None:
        """Compute the patches of ``channels`` of ``layer`` in ``index`` (a scan of ``ds`` by ``model``)."""
        request = PatchesRequest(model, index, layer, channels)
        if self.jobs.is_running("patches") and request.same(self.request):
            return
        self.request = request
        task = self.jobs.submit("patches", f"Projecting {len(channels)} units of {layer}…", jobs.patches_job,
                                model, ds, index, layer, channels, done=lambda found: self.deliver(request, found))
        task.partial.connect(lambda item: self.deliver(request, item.partial))

    def forget(self) -> None:
        """Forget the last request (a new index: the same units are asked for again)."""
        self.request = None
