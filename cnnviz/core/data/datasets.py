"""Image collections for the dataset-level tools: a folder of image files, or Fashion-MNIST.

An :class:`ImageDataset` lists its images once (:attr:`~ImageDataset.files`, the identity of the
collection) and decodes one on demand (:meth:`~ImageDataset.image`). :func:`open_folder` reads a
class-per-subfolder tree (labels are the first-level folder names) or any other folder (no labels),
recursively; :func:`fashion_mnist` serves the installed Debian dataset. :func:`batches` decodes and
preprocesses images in ``torch.utils.data.DataLoader`` worker processes; an image that cannot be
decoded is reported in the batch (and noted with :meth:`~ImageDataset.skip`), never raised.
"""

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from cnnviz.core.data import fashion_mnist as fmnist
from cnnviz.core.data import images
from cnnviz.core.data.images import ImageLoadError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                                     ".ppm", ".pgm", ".pbm", ".pnm")
"""File name endings (any case) of the files a folder dataset lists."""

WORKERS_FROM = 1000
"""Fewest images for which :func:`default_workers` starts worker processes (starting one costs seconds)."""

MAX_WORKERS = 4

FEEDER_WAIT_S = 1.0
"""Longest wait in :func:`start_method` for the queue threads of finished DataLoaders to end, seconds."""

Preprocess = Callable[[Image.Image], torch.Tensor]


@dataclass(frozen=True)
class Skipped:
    """A file left out: its ``path`` (posix, relative to the dataset root) and the ``reason``."""

    path: str
    reason: str


@dataclass
class ImageDataset:
    """A collection of images with optional class labels; see the module docstring.

    ``files`` are posix paths relative to ``root``, sorted; ``labels[i]`` indexes ``classes`` (None:
    unlabelled). ``kind`` is ``"folder"`` or ``"fashion-mnist"``; for the latter ``pixels`` holds
    the images (uint8 [N, 28, 28]) and the paths are virtual names, not files. ``splits``: the
    indices of each split (``"train"``, ``"val"``, ``"test"``) of a folder that came split.
    """

    name: str
    root: Path
    files: list[str]
    labels: list[int] | None
    classes: list[str]
    kind: str = "folder"
    skipped: list[Skipped] = field(default_factory=list)
    pixels: np.ndarray | None = field(default=None, repr=False)
    splits: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.files)

    def path(self, i: int) -> Path:
        """Where image ``i`` lies (for Fashion-MNIST a virtual path below the data folder)."""
        return self.root / self.files[i]

    def image(self, i: int) -> Image.Image:
        """Image ``i`` decoded; raises :class:`~cnnviz.core.data.images.ImageLoadError` if it cannot be."""
        if self.pixels is not None:
            return Image.fromarray(self.pixels[i], mode="L")
        return images.load_image(self.path(i))

    def label(self, i: int) -> int | None:
        """Class index of image ``i``, None without labels."""
        return None if self.labels is None else self.labels[i]

    def label_name(self, i: int) -> str:
        """Class name of image ``i``, "" without labels."""
        label = self.label(i)
        return "" if label is None else self.classes[label]

    def skip(self, i: int, reason: str) -> None:
        """Note (once) that image ``i`` could not be read, and why."""
        entry = Skipped(self.files[i], reason)
        if entry.path not in {s.path for s in self.skipped}:
            self.skipped.append(entry)

    def subset(self, indices: Sequence[int], name: str) -> "ImageDataset":
        """The images ``indices`` (in that order) as a dataset called ``name``, with the same classes."""
        chosen = [int(i) for i in indices]
        return ImageDataset(name, self.root, [self.files[i] for i in chosen],
                            None if self.labels is None else [self.labels[i] for i in chosen], list(self.classes),
                            self.kind, [], None if self.pixels is None else self.pixels[chosen])

    def identity(self) -> dict[str, Any]:
        """What identifies the collection, JSON-able: kind, name, root and the file list."""
        return {"kind": self.kind, "name": self.name, "root": str(self.root), "files": list(self.files)}


def open_folder(path: str | Path, *, verify: bool = True) -> ImageDataset:
    """The images under folder ``path`` (recursive; :data:`IMAGE_EXTENSIONS`; hidden files and
    folders left out), in sorted order.

    When every image lies in a first-level subfolder, those folders are the classes (sorted by name)
    and each image's label is its folder's; otherwise the dataset has no labels. A root whose folders
    are ``train`` and some of ``val`` and ``test``, each with one folder per class, is read as those
    splits (:attr:`~ImageDataset.splits`; the classes are the second-level folders). With ``verify``
    each file's header is read (not its pixels): empty files and files that are not images go to
    :attr:`~ImageDataset.skipped` instead of :attr:`~ImageDataset.files`. Raises FileNotFoundError
    or NotADirectoryError for a bad ``path`` and ValueError when no readable image is left.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"there is no folder {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder of images")
    root = root.resolve()
    found = _image_files(root)
    skipped = [Skipped(name, reason) for name in found if (reason := _header_problem(root / name))] if verify else []
    bad = {s.path for s in skipped}
    files = [name for name in found if name not in bad]
    if not files:
        detail = f"; {len(skipped)} file(s) could not be read" if skipped else ""
        raise ValueError(f"{root} holds no readable image ({', '.join(IMAGE_EXTENSIONS[:8])}, …){detail}")
    splits = _split_folders(files)
    labels, classes = _folder_labels([name.split("/", 1)[1] for name in files] if splits else files)
    return ImageDataset(root.name or str(root), root, files, labels, classes, "folder", skipped, splits=splits)


SPLIT_FOLDERS = ("train", "val", "test")
"""First-level folder names of a dataset that comes split."""


def _split_folders(files: list[str]) -> dict[str, list[int]]:
    """The indices of each split when ``files`` lie in ``train/CLASS/``, ``val/CLASS/`` and ``test/CLASS/``
    (train needed, the others optional), else an empty dict."""
    parts = [name.split("/") for name in files]
    if any(len(p) < 3 or p[0] not in SPLIT_FOLDERS for p in parts) or not any(p[0] == "train" for p in parts):
        return {}
    return {split: [i for i, p in enumerate(parts) if p[0] == split]
            for split in SPLIT_FOLDERS if any(p[0] == split for p in parts)}


def _image_files(root: Path) -> list[str]:
    """Posix paths relative to ``root`` of its image files, recursively, hidden ones left out, sorted."""
    names: list[str] = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        relative = Path(folder).relative_to(root)
        names.extend((relative / f).as_posix() for f in files
                     if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS))
    return sorted(names)


def _header_problem(path: Path) -> str:
    """Why ``path`` is not a readable image by its header ("" when it looks fine)."""
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
        with open(path, "rb") as stream, Image.open(stream) as image:
            images.check_size(image.size, path.name)
    except ImageLoadError as error:
        return str(error)
    except UnidentifiedImageError:
        return "not an image: Pillow cannot identify its format"
    except (OSError, ValueError, SyntaxError) as error:
        return f"damaged: its header could not be read ({error or type(error).__name__})"
    return ""


def _folder_labels(files: list[str]) -> tuple[list[int] | None, list[str]]:
    """(labels, classes) of a class-per-subfolder layout, or (None, []) for any other."""
    if any("/" not in name for name in files):
        return None, []
    tops = [name.split("/", 1)[0] for name in files]
    classes = sorted(set(tops))
    number = {name: i for i, name in enumerate(classes)}
    return [number[top] for top in tops], classes


def fashion_mnist(split: str = "test", *, data_dir: str | Path = fmnist.DATA_DIR,
                  limit: int | None = None) -> ImageDataset:
    """The installed Fashion-MNIST ``split`` ("train": 60 000 images, "test": 10 000), labelled,
    its first ``limit`` images when given. Raises FileNotFoundError when it is not installed."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; expected 'train' or 'test'")
    pixels, labels = fmnist.load_split(split, data_dir)  # type: ignore[arg-type]
    if limit is not None:
        pixels, labels = pixels[:limit], labels[:limit]
    files = [f"{split}/{i:05d}.png" for i in range(len(pixels))]
    return ImageDataset(f"Fashion-MNIST {split}", Path(data_dir), files, [int(v) for v in labels],
                        list(fmnist.CLASSES), "fashion-mnist", [], pixels)


def fashion_mnist_available(data_dir: str | Path = fmnist.DATA_DIR) -> bool:
    """True when the Fashion-MNIST files are installed in ``data_dir``."""
    return fmnist.available(data_dir)


@dataclass(frozen=True)
class Batch:
    """Preprocessed images ``x`` [B, C, H, W] (float32, CPU; shape [0] when none could be read) with
    their dataset ``indices`` [B] (int64), and ``failed``: (dataset index, reason) of the images of
    this batch that could not be decoded."""

    indices: torch.Tensor
    x: torch.Tensor
    failed: list[tuple[int, str]]


class _Preprocessed(TorchDataset):
    """Item ``j``: (dataset index, preprocessed tensor or None, reason it failed or "")."""

    def __init__(self, dataset: ImageDataset, preprocess: Preprocess, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.preprocess = preprocess
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int) -> tuple[int, torch.Tensor | None, str]:
        i = self.indices[j]
        try:
            return i, self.preprocess(self.dataset.image(i)), ""
        except ImageLoadError as error:
            return i, None, str(error)
        except (OSError, ValueError) as error:
            return i, None, f"could not be decoded ({images.describe(error)})"


def _collate(items: list[tuple[int, torch.Tensor | None, str]]) -> Batch:
    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, reason) for i, x, reason in items if x is None]
    indices = torch.tensor([i for i, _ in good], dtype=torch.int64)
    x = torch.stack([x for _, x in good]) if good else torch.empty(0)
    return Batch(indices, x, failed)


def default_workers(count: int) -> int:
    """Worker processes for decoding ``count`` images: none below :data:`WORKERS_FROM` images,
    else one per core but one, at most :data:`MAX_WORKERS`."""
    if count < WORKERS_FROM:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(MAX_WORKERS, cores - 1))


def start_method() -> str:
    """How worker processes start: ``"fork"`` on Linux in a process with one thread (a script, the
    command line: quick, and a script needs no ``if __name__ == "__main__"`` guard), else ``"spawn"``
    (forking a process with other threads running, such as the GUI, can deadlock the child).

    The queue threads a finished DataLoader leaves (``QueueFeederThread``, closed, ending a moment
    later) are waited for, at most :data:`FEEDER_WAIT_S` in all: left running, they turned about one
    in seven of a script's next DataLoaders into "spawn", seconds slower to start."""
    if not sys.platform.startswith("linux"):
        return "spawn"
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(t.name != "QueueFeederThread" for t in others):
        return "spawn"
    deadline = time.monotonic() + FEEDER_WAIT_S
    for thread in others:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return "fork" if threading.active_count() == 1 else "spawn"


def batches(dataset: ImageDataset, preprocess: Preprocess, indices: Sequence[int], *, batch_size: int = 64,
            workers: int | None = None) -> Iterator[Batch]:
    """:class:`Batch` es of the images ``indices`` of ``dataset`` in that order, each image made by
    ``preprocess`` (a picklable callable, PIL image -> [C, H, W]; e.g. ``model.preprocessor()``).

    ``workers`` processes decode (None: :func:`default_workers`; 0: this process); they start by
    :func:`start_method`. Images that cannot be decoded
    are listed in :attr:`Batch.failed`, never raised. Workers stop when the iterator is closed.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1 image, not {batch_size!r}")
    workers = default_workers(len(indices)) if workers is None else workers
    loader = DataLoader(_Preprocessed(dataset, preprocess, indices), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=_collate,
                        multiprocessing_context=start_method() if workers > 0 else None)
    iterator = iter(loader)
    try:
        yield from iterator
    finally:
        del iterator
