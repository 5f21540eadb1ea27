"""The retrieval query of the Feature space pane: the images of the dataset nearest to the current image in the
map shown (:func:`~cnnviz.gui.panes.features.job.query_job` on the compute worker), shown in the side panel's
retrieval view; ``query`` is the latest answer."""

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QObject

from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.files.caption import cached_checksum
from cnnviz.gui.panes.features import job
from cnnviz.gui.panes.features.retrieval_view import RetrievalView
from cnnviz.gui.panes.parts.job_runner import JobRunner


class Retrieval(QObject):
    """Searches with ``jobs`` in the map ``current()`` for the current image, whose dataset index (None: not an
    image of the dataset) ``query_image()`` gives; shows the answer in ``view``. A dataset image is also searched
    in the map ``kept()`` gives (the kept map beside a newer one, None: none), shown below (``kept_query``): the
    nearest images before and after fine-tuning."""

    def __init__(self, jobs: JobRunner, view: RetrievalView, current: Callable[[], FeatureSpaceResult | None],
                 query_image: Callable[[], int | None], parent: QObject | None = None,
                 kept: Callable[[], FeatureSpaceResult | None] = lambda: None) -> None:
        super().__init__(parent)
        self.jobs, self.view, self.current, self.query_image, self.kept = jobs, view, current, query_image, kept
        self.state = jobs.state
        self.query: job.QueryResult | None = None
        self.kept_query: job.QueryResult | None = None
        self._asked: tuple | None = None

    def clear(self) -> None:
        """Forget the query (no map)."""
        self.query = self.kept_query = self._asked = None
        self.view.show_kept(None, [], None, [], "")

    def search(self) -> None:
        """Find the images nearest to the current image in the current map (unless that search is shown)."""
        result, model, ds, x = self.current(), self.state.model, self.state.dataset, self.state.input_tensor
        if result is None or model is None or ds is None:
            return
        image = self.query_image()
        if image is not None and result.features.row_of(image) is None:
            image = None
        if image is None and x is None:
            return
        if image is None and result.head.checksum != cached_checksum(model):
            self.view.show_matches(None, [], None, [], f"This map was made with {escape(result.head.model)}, not the "
                                   "current model: open an image of the dataset to search it.")
            return
        key = (result, image, x if image is None else None)
        if self._asked is not None and all(a is b for a, b in zip(key, self._asked)):
            return
        self._asked = key
        self.jobs.submit("query", "Searching…", job.query_job, model, ds, result, image, x, done=self._found)
        kept = self.kept()
        self.kept_query = None
        self.view.show_kept(None, [], None, [], "")
        if kept is not None and image is not None and kept.features.row_of(image) is not None:
            self.jobs.submit("query kept", "Searching the kept map…", job.query_job, model, ds, kept, image, None,
                             done=self._found_kept)

    def _found_kept(self, found: job.QueryResult) -> None:
        if found.map_result is not self.kept():
            return
        self.kept_query = found
        text = (f"<b>In the kept map</b> ({escape(found.map_result.head.model)}): the {len(found.matches)} nearest "
                "images")
        self.view.show_kept(found.map_result.features, found.matches, found.label, found.pictures, text)

    def _found(self, found: job.QueryResult) -> None:
        if found.map_result is not self.current():
            return
        self.query = found
        where = f"image {found.image} of the dataset" if found.image is not None else "from outside the dataset"
        text = f"<b>Query:</b> {escape(self.state.image_name)} ({where}) — the {len(found.matches)} nearest images"
        self.view.show_matches(found.map_result.features, found.matches, found.label, found.pictures, text)
