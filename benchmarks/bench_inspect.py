"""Inspection benchmark: activation capture, deconvnet projections and feature-map grid rendering.

Prints one table of ratios against baselines measured in the same run (goals from the issue):
- capture of every layer vs a plain forward pass (goal ≤ 1.3×) for AlexNet, VGG16, ResNet18;
- one deconvnet projection vs a plain forward + backward to the input (goal ≤ 1.3×);
- ordering, building and painting the 512-map atlas of VGG16 ``features.28`` in the Activations
  pane's atlas view (goal ≤ 150 ms; the baseline is a bare ``setImage`` + paint of an image of the
  same size in that view).
Untrained weights (timing does not depend on them), 224×224, CPU. Run:
``.venv/bin/python benchmarks/bench_inspect.py``
"""

import argparse
import os
from collections.abc import Callable

import torch
from timing import compare

from cnnviz.core.model import layers, models
from cnnviz.core.per_image import activations, deconv


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
    """(seconds to order, build and paint the VGG16 features.28 grid in the Activations pane's atlas
    view, seconds for a bare setImage + paint of an image of the same size in the same view)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from cnnviz.gui.app.application import create_application
    from cnnviz.gui.panes.activations.view import show_channel_grid
    from cnnviz.gui.widgets.atlas_view import AtlasView

    app = create_application([])
    vgg = models.load_zoo("vgg16", pretrained=False)
    maps = layers.capture(vgg, torch.randn(1, 3, 224, 224), layers=["features.28"])["features.28"][0]
    view = AtlasView()
    view.resize(900, 900)
    view.show()
    app.processEvents()

    def render() -> None:
        stats = activations.channel_stats(maps)
        show_channel_grid(view, maps.numpy(), activations.channel_order(stats, "max"), "layer", "viridis")
        view.viewport().repaint()

    render()
    blank = torch.rand(view.atlas.image.shape).numpy()

    def bare() -> None:
        view.image_item.setImage(blank, autoLevels=False, levels=(0.0, 1.0))
        view.viewport().repaint()

    result = compare(render, bare, repeats)
    view.close()
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
                     *compare(lambda: layers.capture(model, x, layers=names), plain_forward(model, x), args.repeats),
                     "plain forward", "≤ 1.3×"))
        rows.append((f"deconvnet projection {layer}, {name}",
                     *compare(lambda: deconv.project(model, x, layer=layer), forward_backward(model, x), args.repeats),
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
