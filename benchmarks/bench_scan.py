"""Dataset scan benchmark: ``scan.build`` vs the same DataLoader feeding plain batched forwards, CPU.

Prints images/s and the ratio (goal ≤ 1.15×) for:
- 10 000 Fashion-MNIST test images (``/usr/share/datasets/fashion-mnist``; skipped when absent) with the
  bundled model, all its conv layers tracked;
- 500 photos at 224×224 (the bundled sample photos, cropped, flipped and saved as JPEGs in a temporary
  folder) with SqueezeNet from ``../shared/models/squeezenet1_0_imagenet`` (an untrained torchvision
  AlexNet when absent; no download), all conv layers tracked.
The baseline is ``datasets.batches`` over the same images with the same batch size and workers, each
batch through ``model.module`` under ``torch.inference_mode`` with no hooks, so both pay the same decoding.

Then the peak resident memory of one process per case, scanning 1 000 and 10 000 Fashion-MNIST images
(decoded in the process, ``workers=0``): goal the same within 10 %, as the index keeps only the top k
per unit. The growth over the memory before the scan started is printed too.
Run: ``.venv/bin/python benchmarks/bench_scan.py`` (``--quick``: 2 000 images, 100 photos, 1 repeat).
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import torch
from PIL import Image, ImageOps
from timing import compare

from cnnviz.core.data import datasets, images
from cnnviz.core.model import models
from cnnviz.core.per_dataset import scan

SQUEEZENET = Path(__file__).resolve().parents[2] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"


def plain_forwards(model: models.LoadedModel, ds: datasets.ImageDataset, batch_size: int, workers: int | None):
    """The baseline: the scan's DataLoader over every image, each batch through the model, no hooks."""
    preprocess = model.preprocessor()

    def run() -> None:
        with torch.inference_mode():
            for batch in datasets.batches(ds, preprocess, range(len(ds)), batch_size=batch_size, workers=workers):
                if len(batch.indices):
                    model.module(batch.x.to(model.device))

    return run


def full_scan(model: models.LoadedModel, ds: datasets.ImageDataset, batch_size: int, workers: int | None):
    def run() -> None:
        scan.build(model, ds, batch_size=batch_size, workers=workers)

    return run


def write_photos(folder: Path, count: int, seed: int = 0) -> datasets.ImageDataset:
    """``count`` JPEGs made from the bundled sample photos: random crops of 50–100 % of the shorter
    side, mirrored half of the time, resized to 256×256; returns the folder opened as a dataset."""
    photos = [images.load_image(sample.path).convert("RGB") for sample in images.samples() if sample.kind == "photo"]
    generator = random.Random(seed)
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(min(photo.size) * generator.uniform(0.5, 1.0))
        left = generator.randrange(photo.width - side + 1)
        top = generator.randrange(photo.height - side + 1)
        crop = photo.crop((left, top, left + side, top + side)).resize((256, 256), Image.Resampling.BILINEAR)
        if generator.random() < 0.5:
            crop = ImageOps.mirror(crop)
        crop.save(folder / f"photo_{i:04d}.jpg", quality=90)
    return datasets.open_folder(folder)


def photo_model() -> models.LoadedModel:
    if SQUEEZENET.is_file():
        return models.load_file(SQUEEZENET)
    return models.load_zoo("alexnet", pretrained=False)


def time_case(label: str, model: models.LoadedModel, ds: datasets.ImageDataset, args: argparse.Namespace) -> None:
    """Print one row: scan and baseline images/s, and their time ratio."""
    ours, plain = compare(full_scan(model, ds, args.batch_size, args.workers),
                          plain_forwards(model, ds, args.batch_size, args.workers), args.repeats)
    count = len(ds)
    print(f"{label:<52} {count / ours:9.0f}/s {count / plain:9.0f}/s {ours / plain:6.2f}×  ≤ 1.15×")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` on Linux (``ru_maxrss`` would include the
    parent's size at the fork before ``exec``), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def reset_peak_rss() -> bool:
    """Set the peak to the current resident memory (Linux ``clear_refs``); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_case(count: int, batch_size: int) -> None:
    """Child process: scan ``count`` Fashion-MNIST test images with the bundled model (workers=0); prints
    the peak resident memory of the scan and the memory just before it (after loading and one plain
    batch), in MB."""
    model = models.load_default()
    ds = datasets.fashion_mnist("test", limit=count)
    first = next(datasets.batches(ds, model.preprocessor(), range(len(ds)), batch_size=batch_size, workers=0))
    with torch.inference_mode():
        model.module(first.x)
    before = psutil.Process().memory_info().rss / 2**20 if reset_peak_rss() else peak_rss_mb()
    scan.build(model, ds, batch_size=batch_size, workers=0)
    print(json.dumps({"peak_mb": peak_rss_mb(), "before_mb": before}))


def memory_rows(counts: tuple[int, int], batch_size: int) -> None:
    print("\npeak resident memory, one process per case (bundled model, all conv layers, workers=0):")
    peaks = []
    for count in counts:
        output = subprocess.run([sys.executable, __file__, "--memory-case", str(count), "--batch-size",
                                 str(batch_size)], capture_output=True, text=True, check=True).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        peaks.append(figures["peak_mb"])
        print(f"  {count:>6} images  {figures['peak_mb']:8.0f} MB  "
              f"(+{figures['peak_mb'] - figures['before_mb']:.1f} MB during the scan)")
    print(f"  ratio {counts[1]} / {counts[0]} images: {peaks[1] / peaks[0]:.2f}×  goal ≤ 1.10×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 Fashion-MNIST images, 100 photos, 1 repeat")
    parser.add_argument("--repeats", type=int, help="timed runs of each (default 3, --quick 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: datasets.default_workers)")
    parser.add_argument("--memory-case", type=int, metavar="COUNT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_case:
        memory_case(args.memory_case, args.batch_size)
        return
    args.repeats = args.repeats or (1 if args.quick else 3)
    fmnist_count, photo_count = (2_000, 100) if args.quick else (10_000, 500)
    torch.manual_seed(0)
    print(f"{'scan vs the same DataLoader + plain forwards':<52} {'scan':>11} {'baseline':>11} {'ratio':>7}  goal")
    if datasets.fashion_mnist_available():
        bundled = models.load_default()
        ds = datasets.fashion_mnist("test", limit=fmnist_count)
        time_case(f"{fmnist_count} Fashion-MNIST, bundled, {len(scan.default_layers(bundled))} conv layers",
                  bundled, ds, args)
    else:
        print("Fashion-MNIST is not installed: its rows are skipped")
    model = photo_model()
    with tempfile.TemporaryDirectory() as folder:
        photos = write_photos(Path(folder), photo_count)
        time_case(f"{photo_count} photos 224 px, {model.name}, {len(scan.default_layers(model))} conv layers",
                  model, photos, args)
    if datasets.fashion_mnist_available():
        memory_rows((1_000, 10_000), args.batch_size)


if __name__ == "__main__":
    main()
