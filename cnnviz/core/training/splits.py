"""Training, validation and test splits of a labelled dataset: stratified and seeded, or the splits a
folder came with; and the checks a split must pass before training on it."""

from dataclasses import dataclass

import numpy as np

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.settings import SettingsBase, setting

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSettings(SettingsBase):
    """How a dataset that did not come split is split for training (:func:`split`)."""

    train_share: float = setting(0.7, label="Train", low=0.01, high=1.0,
                                 help="Share of each class's images trained on.")
    val_share: float = setting(0.2, label="Validation", low=0.0, high=0.99,
                               help="Share of each class's images scored after every epoch (0: none).")
    test_share: float = setting(0.1, label="Test", low=0.0, high=0.99,
                                help="Share of each class's images kept for the final scores (0: none).")
    split_seed: int = setting(0, label="Split seed", low=0, high=2**31 - 1,
                              help="Seeds which images go to which split.")

    def check(self) -> None:
        try:
            _checked_fractions(self.fractions())
        except ValueError as error:
            raise ValueError(f"train_share: {str(error).partition(': ')[2]}") from None

    def fractions(self) -> tuple[float, float, float]:
        """(train, val, test) shares."""
        return self.train_share, self.val_share, self.test_share


def class_counts(parts: dict[str, ImageDataset | None], classes: list[str]) -> np.ndarray:
    """Images of each class [classes, splits] in each of ``parts`` (in order; 0 for a split that is None)."""
    counts = np.zeros((len(classes), len(parts)), dtype=np.int64)
    for column, part in enumerate(parts.values()):
        if part is not None and part.labels is not None:
            counts[:, column] = np.bincount(np.asarray(part.labels, dtype=np.int64), minlength=len(classes))
    return counts


def split(dataset: ImageDataset, fractions: tuple[float, ...] = (0.7, 0.2, 0.1), *,
          seed: int = 0) -> tuple[ImageDataset, ImageDataset | None, ImageDataset | None]:
    """``(train, val, test)`` of a labelled ``dataset``.

    A dataset that came split (a folder with ``train/``, ``val/``, ``test/``) gives its own splits
    (None for one it lacks) and ``fractions`` are not used. Otherwise each class's images are shuffled
    with ``seed`` and cut by ``fractions`` (train, val[, test]; each ≥ 0, train > 0, summing to at
    most 1: a smaller sum leaves images out), so every split keeps the class proportions; a split
    with a fraction above 0 gets at least one image of each class that has enough. A split whose
    fraction is 0 is None. Raises ValueError for an unlabelled dataset or bad fractions.
    """
    if dataset.labels is None:
        raise ValueError(f"{dataset.name} has no labels: put each class's images in a folder of its own")
    if dataset.splits:
        parts = [dataset.subset(dataset.splits[name], f"{dataset.name} · {name}") if name in dataset.splits
                 else None for name in SPLIT_NAMES]
        assert parts[0] is not None  # a split folder always has train/
        return parts[0], parts[1], parts[2]
    shares = _checked_fractions(fractions)
    labels = np.asarray(dataset.labels)
    rng = np.random.default_rng(seed)
    chosen: list[list[int]] = [[] for _ in SPLIT_NAMES]
    for label in range(len(dataset.classes)):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        for part, (start, stop) in enumerate(_cuts(len(members), shares)):
            chosen[part].extend(int(i) for i in members[start:stop])
    subsets = [dataset.subset(sorted(indices), f"{dataset.name} · {name}") if shares[part] > 0 else None
               for part, (name, indices) in enumerate(zip(SPLIT_NAMES, chosen))]
    assert subsets[0] is not None
    return subsets[0], subsets[1], subsets[2]


def _checked_fractions(fractions: tuple[float, ...]) -> tuple[float, float, float]:
    values = [float(f) for f in fractions]
    if not 1 <= len(values) <= 3:
        raise ValueError(f"fractions: give train, val and test shares, not {fractions!r}")
    values += [0.0] * (3 - len(values))
    if any(not np.isfinite(v) or v < 0 for v in values) or values[0] <= 0:
        raise ValueError(f"fractions: each share must be at least 0 and train's above 0, not {fractions!r}")
    if sum(values) > 1 + 1e-9:
        raise ValueError(f"fractions: the shares sum to {sum(values):g}, over 1")
    return values[0], values[1], values[2]


def _cuts(count: int, shares: tuple[float, float, float]) -> list[tuple[int, int]]:
    """Start and stop of each split among ``count`` shuffled images: validation and test get their
    rounded share, at least one image each while every split can have one; training gets the rest
    when the shares sum to 1, else its rounded share."""
    wanted = [share > 0 for share in shares]
    enough = count >= sum(wanted)
    held = [max(round(shares[part] * count), 1 if wanted[part] and enough else 0) for part in (1, 2)]
    while sum(held) >= count and any(held):
        held[held.index(max(held))] -= 1
    rest = count - sum(held)
    train = rest if abs(sum(shares) - 1) < 1e-9 else min(rest, round(shares[0] * count))
    sizes = [train, *held]
    cuts, start = [], 0
    for size in sizes:
        cuts.append((start, start + size))
        start += size
    return cuts


def check_labelled(dataset: ImageDataset, role: str, classes: list[str] | None = None) -> None:
    """Raise ValueError unless ``dataset`` can be trained or scored on as ``role`` ("train", "val",
    "test"): labelled, at least 2 classes, every class (of ``classes`` when given: the training
    classes) with an image in it."""
    if dataset.labels is None:
        raise ValueError(f"{role}: {dataset.name} has no labels: put each class's images in a folder of its own")
    names = dataset.classes if classes is None else classes
    if classes is not None and list(dataset.classes) != list(classes):
        raise ValueError(f"{role}: its classes ({', '.join(dataset.classes)}) differ from training's "
                         f"({', '.join(classes)})")
    if len(names) < 2:
        raise ValueError(f"{role}: {dataset.name} has {len(names)} class; training needs at least 2")
    missing = sorted(set(range(len(names))) - set(dataset.labels))
    if missing:
        raise ValueError(f"{role}: no image of class {', '.join(names[i] for i in missing)} in {dataset.name}")
