"""Inspection benchmark: activation capture, deconvnet projections and feature-map grid rendering.

Prints one table of ratios against baselines measured in the same run (goals from the issue):
- capture of every layer vs a plain forward pass (goal ≤ 1.3×) for AlexNet, VGG16, ResNet18;
- one deconvnet projection vs a plain forward + backward to the input (goal ≤ 1.3×);
- building and showing the 512-map atlas of VGG16 ``features.28`` in a pyqtgraph ImageItem
  (goal ≤ 150 ms; the baseline is one ``setImage`` of an image of the same size).
Untrained weights (timing does not depend on them), 224×224, CPU. Run:
``.venv/bin/python benchmarks/bench_inspect.py``
"""

import argparse
import os
from collections.abc import Callable

import torch

from cnnviz.core import activations, deconv, layers, models
from cnnviz.core.atlas import make_atlas
from timing import compare


def plain_forward(model: models.LoadedModel, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return model.module(x)

    return run


def forward_backward(model: models.LoadedModel, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        source = x.clone().requires_grad_(True)
        return torch.autograd.grad(model.module(source)[0, 0], source)

    return run


def atlas_render_seconds(repeats: int) -> tuple[float, float]:
    """(seconds to build + show the VGG16 features.28 atlas, seconds for a bare setImage)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication([])
    vgg = models.load_zoo("vgg16", pretrained=False)
    maps = layers.capture(vgg, torch.randn(1, 3, 224, 224), ["features.28"])["features.28"][0]
    widget = pg.PlotWidget()
    item = pg.ImageItem()
    widget.addItem(item)
    widget.resize(900, 900)
    widget.show()

    def render() -> None:
        stats = activations.channel_stats(maps)
        atlas = make_atlas(maps.numpy(), order=activations.channel_order(stats, "max"))
        item.setImage(atlas.image, autoLevels=False, levels=(0.0, float(stats.max.max()) or 1.0))
        app.processEvents()

    shape = make_atlas(maps.numpy()).image.shape
    blank = torch.rand(shape).numpy()

    def bare() -> None:
        item.setImage(blank, autoLevels=False, levels=(0.0, 1.0))
        app.processEvents()

    result = compare(render, bare, repeats)
    widget.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224)
    rows: list[tuple[str, float, float, str, str]] = []
    for name, layer in (("alexnet", "features.10"), ("vgg16", "features.28"), ("resnet18", "layer4.1")):
        model = models.load_zoo(name, pretrained=False)
        names = model.layer_names()
        layers.trace(model)
        rows.append((f"capture all {len(names)} layers, {name}",
                     *compare(lambda: layers.capture(model, x, names), plain_forward(model, x), args.repeats),
                     "plain forward", "≤ 1.3×"))
        rows.append((f"deconvnet projection {layer}, {name}",
                     *compare(lambda: deconv.project(model, x, layer), forward_backward(model, x), args.repeats),
                     "forward + backward", "≤ 1.3×"))
    render, bare = atlas_render_seconds(args.repeats)
    rows.append(("512-map atlas render, vgg16 features.28", render, bare, "bare setImage", "≤ 150 ms"))

    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'time':>10}  {'baseline':<18}  {'base time':>10}  {'ratio':>6}  goal")
    for name, seconds, base_seconds, baseline, goal in rows:
        print(f"{name:<{width}}  {seconds * 1e3:8.1f}ms  {baseline:<18}  {base_seconds * 1e3:8.1f}ms  "
              f"{seconds / base_seconds:5.2f}×  {goal}")


if __name__ == "__main__":
    main()
