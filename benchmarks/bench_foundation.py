"""Foundation benchmark: model loading, first window, forward passes, layer table, capture.

Prints one table. Each cnnviz operation is timed beside a baseline measured in the same run (plain
torch / plain Python doing the least the operation needs), and the ratio is what to compare across
machines, since absolute times here are noisy. Run: .venv/bin/python benchmarks/bench_foundation.py
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from timing import compare

from cnnviz.core.data import images
from cnnviz.core.data.resources import resource_path
from cnnviz.core.model import layers, models
from cnnviz.core.model.bundled_net import build_bundled_net


def raw_default_load() -> torch.nn.Module:
    module = build_bundled_net()
    module.load_state_dict(torch.load(resource_path("default_model.pth"), weights_only=True))
    return module.eval()


def plain_forward(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return module(x)

    return run


def first_window_seconds(extra: list[str]) -> float:
    """Seconds for ``python -m cnnviz --screenshot`` (start, load, render, save, exit), offscreen."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnnviz", *extra, "--screenshot",
                        str(Path(folder) / "shot.png")], check=True, env=env, capture_output=True)
        return time.perf_counter() - start


def import_baseline_seconds() -> float:
    """Seconds for a bare interpreter to import torch, torchvision and Qt widgets and exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, torchvision, PySide6.QtWidgets"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--no-window", action="store_true", help="skip the first-window timing")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rows: list[tuple[str, float, float, str]] = []

    rows.append(("load bundled model", *compare(models.load_default, raw_default_load, args.repeats),
                 "build + torch.load + load_state_dict"))
    rows.append(("load alexnet (untrained)",
                 *compare(lambda: models.load_zoo("alexnet", pretrained=False),
                          lambda: torchvision.models.alexnet().eval(), 3),
                 "torchvision.models.alexnet()"))

    default = models.load_default()
    x_default = default.preprocess(images.load_image(images.default_sample().path))
    alexnet = models.load_zoo("alexnet", pretrained=False)
    x_alexnet = torch.randn(1, 3, 224, 224)
    for label, model, x in (("bundled", default, x_default), ("alexnet", alexnet, x_alexnet)):
        forward = plain_forward(model.module, x)
        names = model.layer_names()

        def fresh_table(model: models.LoadedModel = model) -> object:
            model.cache.clear()
            return layers.layer_table(model)

        rows.append((f"predict top-5, {label}", *compare(lambda: model.predict(x), forward, args.repeats),
                     "plain forward"))
        rows.append((f"capture all {len(names)} layers, {label}",
                     *compare(lambda: layers.capture(model, x, layers=names), forward, args.repeats),
                     "plain forward"))
        rows.append((f"layer table (uncached), {label}", *compare(fresh_table, forward, 3),
                     "plain forward"))

    if not args.no_window:
        window, imports = [], []
        for _ in range(3):
            window.append(first_window_seconds(["--model", "default"]))
            imports.append(import_baseline_seconds())
        rows.append(("first window (bundled, screenshot)", statistics.median(window),
                     statistics.median(imports), "python -c 'import torch, torchvision, PySide6'"))

    width = max(len(r[0]) for r in rows)
    base_width = max(len(r[3]) for r in rows)
    print(f"{'operation':<{width}}  {'time':>10}  {'baseline':<{base_width}}  {'base time':>10}  ratio")
    for name, seconds, baseline_seconds, baseline_name in rows:
        print(f"{name:<{width}}  {seconds * 1e3:8.2f}ms  {baseline_name:<{base_width}}  "
              f"{baseline_seconds * 1e3:8.2f}ms  {seconds / baseline_seconds:5.2f}×")


if __name__ == "__main__":
    main()
