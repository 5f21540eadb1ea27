"""The parts every analysis shares: what it runs on (:class:`Source`), the progress it yields
(:class:`Step`: the core's one step type, :class:`cnnviz.core.progress.Step`, re-exported), the base of
its result (:class:`Result`) and its entry in the registry (:class:`Analysis`).

An analysis module defines ``Settings`` (a frozen dataclass, see :mod:`cnnviz.core.settings`), a
``run(model, source, settings)`` generator that yields :class:`Step` and returns its ``Result``, and a
``figure(result, *, width_mm=170, dpi=300, width_px=None)`` that draws the report figure with
matplotlib. :func:`compute` runs a generator to its end.
"""

import dataclasses
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from cnnviz.analyses.layer_rules import checked_layer
from cnnviz.core.data import images
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.files import caption as captions
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.progress import ProgressFn, Step, run_to_end
from cnnviz.core.settings import SettingsBase
from cnnviz.core.tables import array_csv

FIGURE_FORMATS = ("png", "svg", "pdf")
DATA_FORMATS = ("npy", "csv")


@dataclass(frozen=True)
class Source:
    """What an analysis looks at: one image (``x``, preprocessed [1, C, H, W] on the model's device, and the
    ``image`` it was made from), a ``dataset`` (with the ``test`` images of a probe), or training ``runs``
    (their folders; with a ``dataset`` to score instead of a run's own test split); ``name`` names it in
    captions (a file name, a dataset's name, the runs' folders)."""

    name: str
    x: torch.Tensor | None = None
    image: Image.Image | None = None
    dataset: ImageDataset | None = None
    test: ImageDataset | None = None
    runs: tuple[Path, ...] = ()

    @classmethod
    def of_image(cls, model: LoadedModel, image: Image.Image, name: str = "image") -> "Source":
        """The preprocessed ``image`` for ``model``."""
        return cls(name, model.preprocess(image), image)

    @classmethod
    def of_file(cls, model: LoadedModel, path: str | Path) -> "Source":
        """The image file at ``path`` for ``model`` (:func:`cnnviz.core.data.images.load_image`; raises
        ImageLoadError)."""
        return cls.of_image(model, images.load_image(path), Path(path).name)

    @classmethod
    def of_dataset(cls, dataset: ImageDataset, name: str | None = None) -> "Source":
        """A dataset, named ``name`` (default: the dataset's own name)."""
        return cls(name or dataset.name, dataset=dataset)

    @classmethod
    def of_runs(cls, folders: Sequence[str | Path], dataset: ImageDataset | None = None) -> "Source":
        """Training run folders (and optionally the images to score them on), named by the folders."""
        paths = tuple(Path(folder) for folder in folders)
        return cls(", ".join(path.name for path in paths), dataset=dataset, runs=paths)

    def input(self) -> torch.Tensor:
        """``x``; ValueError for a dataset source."""
        if self.x is None:
            raise ValueError(f"{self.name}: this analysis needs an image, not a dataset")
        return self.x

    def run_folders(self) -> tuple[Path, ...]:
        """``runs``; ValueError when none are given."""
        if not self.runs:
            raise ValueError(f"{self.name}: this analysis needs training runs (their folders)")
        return self.runs

    def data(self) -> ImageDataset:
        """``dataset``; ValueError for an image source."""
        if self.dataset is None:
            raise ValueError(f"{self.name}: this analysis needs a dataset, not an image")
        return self.dataset


def compute(steps: Generator[Step, None, Any], progress: ProgressFn | None = None) -> Any:
    """Run an analysis's ``run`` generator to its end and return its result; ``progress(done, total)``
    is called after every step and cancels (raises :class:`~cnnviz.core.progress.Cancelled`, the
    generator closed) by returning False."""
    return run_to_end(steps, progress)


def about(analysis: str, model: LoadedModel | None, source: Source) -> Caption:
    """The caption head of a result of ``analysis`` on ``model`` and ``source``: model, weights,
    checksum, and the image (or the dataset, or the runs); no fields yet."""
    if source.runs:
        return captions.for_model(analysis, model, "", {}, dataset=source.dataset.name if source.dataset else "")
    if source.dataset is not None:
        return captions.for_model(analysis, model, "", {}, dataset=source.name)
    return captions.for_model(analysis, model, source.name, {})


@dataclass(frozen=True, kw_only=True)
class Result:
    """The base of every analysis's result: the ``settings`` it ran with, ``head`` (model, weights,
    image or dataset: :func:`about`) and whether it is ``partial`` (cancelled or still running).
    Subclasses add their arrays and say what settings left open resolved to (:meth:`resolved`)."""

    analysis: ClassVar[str] = ""
    settings: SettingsBase
    head: Caption
    partial: bool = False

    def arrays(self) -> dict[str, np.ndarray]:
        """The raw arrays by name (written as ``<stem>-<name>.npy``; 1-D and 2-D ones also as CSV)."""
        return {}

    def tables(self) -> dict[str, str]:
        """CSV tables by name that are not one array (written as ``<stem>-<name>.csv``)."""
        return {}

    def resolved(self) -> dict[str, Any]:
        """What settings left to the analysis resolved to (the layer, the target class, the unit), by
        name; shown in the caption after the settings."""
        return {}

    def failures(self) -> list[str]:
        """One line per part that failed while the others were computed (an attribution method), for
        ``cnnviz run`` to print; none here."""
        return []

    def caption(self) -> Caption:
        """Model and weights checksum, image or dataset, every setting that shaped the result, what they
        resolved to, the version, and whether it is partial."""
        fields = self.settings.caption_fields() | self.resolved()
        return dataclasses.replace(self.head, fields=fields, partial=self.partial)

    def export(self, folder: str | Path, formats: Sequence[str] = DATA_FORMATS, *,
               stem: str | None = None) -> list[Path]:
        """Write the arrays as ``<stem>-<name>.npy`` (``"npy"``) and the 1-D/2-D arrays and
        :meth:`tables` as ``<stem>-<name>.csv`` headed by the caption as ``#`` comments (``"csv"``)
        into ``folder`` (created); ``stem`` defaults to ``<analysis>-<image or dataset stem>``. Returns
        the paths written; raises OSError."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = stem or f"{self.analysis}-{Path(self.head.image or self.head.dataset or 'result').stem}"
        written: list[Path] = []
        arrays = self.arrays()
        if "npy" in formats:
            for name, array in arrays.items():
                path = folder / f"{stem}-{name}.npy"
                np.save(path, np.asarray(array), allow_pickle=False)
                written.append(path)
        if "csv" in formats:
            tables = {n: t for n, a in arrays.items() if (t := array_csv(n, a)) is not None} | self.tables()
            for name, text in tables.items():
                path = folder / f"{stem}-{name}.csv"
                path.write_text(captions.with_comments(text, self.caption()), encoding="utf-8")
                written.append(path)
        return written


FigureFn = Callable[..., Figure]
RunFn = Callable[..., Generator[Step, None, Any]]


@dataclass(frozen=True)
class Analysis:
    """An analysis in the registry: its ``name`` (``cnnviz run NAME``), a one-line ``summary``, its
    ``Settings`` class, ``run`` generator and ``figure`` function, what it needs as input (``"image"``
    or ``"dataset"``), ``defaults(model)``: its settings with what depends on the model filled in
    (for ``--help`` and forms; default: the settings' own defaults) and ``check(model, settings)``: what
    :meth:`check_for` runs instead of its default checks."""

    name: str
    summary: str
    settings: type
    run: RunFn
    figure: FigureFn
    input: str = "image"
    defaults: Callable[[LoadedModel], Any] | None = field(default=None)
    check: Callable[[Any, Any], None] | None = field(default=None)

    def check_for(self, model: LoadedModel | None, settings: Any) -> None:
        """Check ``settings`` against ``model`` before anything is computed (the analysis's own ``check``;
        by default: ``layer`` and ``layers`` name layers the analysis can use); raises ValueError naming the
        field."""
        if self.check is not None:
            self.check(model, settings)
            return
        if model is None:
            return
        named = [getattr(settings, "layer", "")] + list(getattr(settings, "layers", ()))
        for layer in filter(None, named):
            checked_layer(model, layer, self.name)

    def settings_for(self, model: LoadedModel | None) -> Any:
        """The default settings, resolved for ``model`` where it is given."""
        if model is not None and self.defaults is not None:
            return self.defaults(model)
        return self.settings()

    def compute(self, model: LoadedModel, source: Source, settings: Any = None,
                progress: ProgressFn | None = None) -> Any:
        """Run to the end (see :func:`compute`) with ``settings`` (default :meth:`settings_for` the model)."""
        return compute(self.run(model, source, settings if settings is not None else self.settings_for(model)),
                       progress)
