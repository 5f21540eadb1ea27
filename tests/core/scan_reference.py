"""Brute-force references and data folders for the dataset-scan tests (independent of cnnviz.core.per_dataset.scan).

Everything here recomputes what a scan should give the slow, obvious way: one forward pass per image
with a plain ``register_forward_hook``, a numpy argmax per channel, and a full sort of every score.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

SCAN_LAYERS = ["features.conv1", "features.pool3", "classifier.fc1"]
"""Layers the dataset-scan tests track: a conv layer, a later pooled one and a fully connected one."""
SCAN_IMAGES = 1000
"""Fashion-MNIST test images written into the class-per-folder tree."""

TIE = 1e-6
"""Scores closer than this may come out in either order (batched and single-image convolutions round
differently); exact ties must still follow the rule (lower dataset index / first position first)."""


@dataclass
class Reference:
    """Every image's score per channel of one layer: ``scores`` [N, C] float32 and the ``positions``
    [N, C, 2] (row, col) of the first maximum (-1 for [N, C] layers); ``maps`` keeps nothing else."""

    scores: np.ndarray
    positions: np.ndarray
    spatial: bool


def write_fashion_tree(root: Path, images: np.ndarray, labels: np.ndarray, count: int) -> list[int]:
    """Write the first ``count`` images as PNGs into ``root/<label>_<name>/<original index>.png`` and
    return, for each file in sorted posix order, the original Fashion-MNIST index."""
    names = ["0_tshirt", "1_trouser", "2_pullover", "3_dress", "4_coat",
             "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_boot"]
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        relative = f"{names[int(labels[i])]}/{i:05d}.png"
        Image.fromarray(images[i], mode="L").save(root / relative)
        files.append((relative, i))
    return [i for _, i in sorted(files)]


def jpeg_bytes(seed: int, size: tuple[int, int] = (40, 48)) -> bytes:
    """A valid RGB JPEG of random pixels (``size`` = (width, height))."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_bad_folder(root: Path) -> dict[str, str]:
    """Four good images plus a text file named ``.jpg``, a truncated JPEG and an empty file.

    Returns {relative path: kind} with kind "good", "text", "truncated" or "empty"."""
    root.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for i in range(4):
        (root / f"good{i}.jpg").write_bytes(jpeg_bytes(i))
        kinds[f"good{i}.jpg"] = "good"
    (root / "notes.jpg").write_text("this is not an image, only text\n" * 20, encoding="utf-8")
    kinds["notes.jpg"] = "text"
    whole = jpeg_bytes(99, (64, 64))
    (root / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    kinds["cut.jpg"] = "truncated"
    (root / "empty.png").write_bytes(b"")
    kinds["empty.png"] = "empty"
    return kinds


def brute_force(module: torch.nn.Module, inputs: list[torch.Tensor], layers: list[str],
                chunk: int = 50) -> dict[str, Reference]:
    """Scores of every channel of ``layers`` for each preprocessed input [1, C, H, W], by forward
    passes over ``chunk`` inputs at a time with plain forward hooks that clone the whole output."""
    modules = dict(module.named_modules())
    kept: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, out, name=name: kept[name].append(out.detach().clone())) for name in layers]
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), chunk):
                module(torch.cat(inputs[start:start + chunk]))
    finally:
        for handle in handles:
            handle.remove()
    return {name: _reduce(torch.cat(kept[name]).numpy()) for name in layers}


def _reduce(outputs: np.ndarray) -> Reference:
    """Per image and channel: the maximum over positions and the first position holding it."""
    if outputs.ndim == 2:
        return Reference(outputs.astype(np.float32), np.full((*outputs.shape, 2), -1), False)
    n, c, h, w = outputs.shape
    flat = outputs.reshape(n, c, h * w)
    where = flat.argmax(axis=2)
    scores = np.take_along_axis(flat, where[:, :, None], axis=2)[:, :, 0]
    positions = np.stack([where // w, where % w], axis=2)
    return Reference(scores.astype(np.float32), positions, True)


def reference_top(ref: Reference, channel: int, k: int, images: np.ndarray | None = None) -> list[int]:
    """Dataset indices of the ``k`` best images of ``channel`` sorted by (-score, index); ``images``
    restricts to those dataset indices (a shard)."""
    candidates = np.arange(len(ref.scores)) if images is None else np.asarray(images)
    values = ref.scores[candidates, channel]
    order = np.lexsort((candidates, -values.astype(np.float64)))
    return [int(candidates[i]) for i in order[:k]]


def assert_top_matches(hits: list, ref: Reference, maps_at, channel: int, k: int,
                       images: np.ndarray | None = None, atol: float = 1e-5) -> None:
    """``hits`` (Hit list of one channel) equal the brute-force top-``k``: same images in the same
    order (near ties within :data:`TIE` may swap), same positions (a near-equal maximum elsewhere in
    the same image may be reported instead), activations within ``atol``.

    ``maps_at(image, channel, position)`` gives the reference activation at a position."""
    expected = reference_top(ref, channel, k, images)
    assert len(hits) == len(expected), f"channel {channel}: {len(hits)} hits, expected {len(expected)}"
    got = [h.image for h in hits]
    if got != expected:
        values = ref.scores[:, channel]
        for rank, (g, e) in enumerate(zip(got, expected)):
            assert g == e or abs(float(values[g]) - float(values[e])) <= TIE, (
                f"channel {channel} rank {rank}: image {g} (score {values[g]}), expected {e} (score {values[e]}); "
                f"got {got}, expected {expected}")
    for rank, hit in enumerate(hits):
        want = float(ref.scores[hit.image, channel])
        assert abs(hit.activation - want) <= atol, (
            f"channel {channel} rank {rank} image {hit.image}: activation {hit.activation}, expected {want}")
        if not ref.spatial:
            assert hit.position is None, f"channel {channel}: position {hit.position} for an [N, C] layer"
            continue
        first = tuple(int(v) for v in ref.positions[hit.image, channel])
        assert hit.position is not None
        position = (int(hit.position[0]), int(hit.position[1]))
        if position != first:
            at = maps_at(hit.image, channel, position)
            assert abs(at - want) <= TIE and at != want, (
                f"channel {channel} image {hit.image}: position {position} (value {at}), expected {first} "
                f"(value {want}; exact ties go to the first position in row-major order)")


def selectivity(scores: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Morcos et al. (2018) class selectivity per channel from scores [N, C] rectified at 0:
    (mu_max - mu_rest) / (mu_max + mu_rest) over the class means; 0 where the denominator is 0."""
    rectified = np.maximum(scores.astype(np.float64), 0.0)
    means = np.stack([rectified[labels == k].mean(axis=0) for k in range(classes)], axis=1)  # [C, K]
    best = means.argmax(axis=1)
    mu_max = means[np.arange(len(means)), best]
    mu_rest = (means.sum(axis=1) - mu_max) / (classes - 1)
    denominator = mu_max + mu_rest
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, (mu_max - mu_rest) / safe)
