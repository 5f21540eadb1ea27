"""Attribution benchmark: the long methods vs their physical floor and vs the reference packages.

On ResNet18 (untrained; timing does not depend on weights) at 224×224 (``--quick``: 112×112), prints:
- integrated gradients (50 steps) vs 50 batched forward + backward passes (goal ≤ 1.1×) and vs
  Captum's ``IntegratedGradients`` with the same steps, rule and batch (goal ≤ 1.0×);
- Score-CAM on ``layer4`` vs its number of batched forwards, one per channel (goal ≤ 1.1×) and vs
  the ``grad-cam`` package's ``ScoreCAM`` with the same batch size (goal ≤ 1.0×);
- a deletion curve (100 steps) vs 101 batched forwards (goal ≤ 1.1×).
Run: ``.venv/bin/python benchmarks/bench_attribution.py [--quick]``.
"""

import argparse

import torch
from timing import compare

from cnnviz.core.model import models
from cnnviz.core.per_image import attribution

BATCH = 50
LAYER = "layer4"


def forward_backward(model: models.LoadedModel, x: torch.Tensor, count: int, target: int):
    """``count`` forward + backward passes of copies of ``x``, ``BATCH`` at a time (the IG floor)."""

    def run() -> None:
        for start in range(0, count, BATCH):
            batch = x.expand(min(BATCH, count - start), -1, -1, -1).clone().requires_grad_(True)
            torch.autograd.grad(model.module(batch)[:, target].sum(), batch)

    return run


def forwards(model: models.LoadedModel, x: torch.Tensor, count: int, softmax: bool):
    """``count`` batched forward passes of copies of ``x`` without gradients (the Score-CAM and
    deletion floor)."""

    def run() -> None:
        with torch.no_grad():
            for start in range(0, count, BATCH):
                out = model.module(x.expand(min(BATCH, count - start), -1, -1, -1).contiguous())
                if softmax:
                    torch.softmax(out, dim=1)

    return run


def captum_ig(model: models.LoadedModel, x: torch.Tensor, target: int, baseline: torch.Tensor):
    from captum.attr import IntegratedGradients

    def run() -> None:
        IntegratedGradients(model.module).attribute(x, baselines=baseline, target=target, n_steps=BATCH,
                                                    method="riemann_trapezoid", internal_batch_size=BATCH)

    return run


def package_scorecam(model: models.LoadedModel, x: torch.Tensor, target: int):
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    layer = dict(model.module.named_modules())[LAYER]

    def run() -> None:
        with ScoreCAM(model.module, target_layers=[layer]) as cam:
            cam.batch_size = BATCH
            cam(x, targets=[ClassifierOutputTarget(target)])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="112×112 input instead of 224×224")
    args = parser.parse_args()
    torch.manual_seed(0)
    side = 112 if args.quick else 224
    model = models.load_zoo("resnet18", pretrained=False)
    model.module.eval()
    x = torch.randn(1, 3, side, side)
    target = int(model.probabilities(x)[0].argmax())
    baseline = attribution.integrated.baseline_of(model, x, "black")
    channels = int(dict(model.module.named_modules())[LAYER][-1].conv2.out_channels)
    rows: list[tuple[str, float, float, str, str]] = []

    def ig() -> object:
        return attribution.attribute(model, x, method="integrated_gradients", target=target, steps=BATCH,
                                     batch_size=BATCH)

    rows.append(("integrated gradients, 50 steps", *compare(ig, forward_backward(model, x, BATCH, target),
                                                            args.repeats), "50 forward+backward", "≤ 1.1×"))
    rows.append(("integrated gradients, 50 steps", *compare(ig, captum_ig(model, x, target, baseline), args.repeats),
                 "Captum, same settings", "≤ 1.0×"))

    def scorecam() -> object:
        return attribution.attribute(model, x, method="scorecam", target=target, layer=LAYER, batch_size=BATCH)

    rows.append((f"Score-CAM, {channels} masks", *compare(scorecam, forwards(model, x, channels, True), args.repeats),
                 f"{channels} batched forwards", "≤ 1.1×"))
    rows.append((f"Score-CAM, {channels} masks", *compare(scorecam, package_scorecam(model, x, target), args.repeats),
                 "grad-cam, same batch", "≤ 1.0×"))
    cam = attribution.attribute(model, x, method="gradcam", target=target, layer=LAYER)
    rows.append(("deletion curve, 100 steps", *compare(
        lambda: attribution.metrics.deletion(model, x, cam, steps=100, batch_size=BATCH),
        forwards(model, x, 101, True), args.repeats), "101 batched forwards", "≤ 1.1×"))
    report(rows, side)


def report(rows: list[tuple[str, float, float, str, str]], side: int) -> None:
    """Print one line per comparison: times, baseline, ratio and goal."""
    width = max(len(r[0]) for r in rows)
    print(f"ResNet18 (untrained) at {side}×{side}, batch {BATCH}")
    print(f"{'operation':<{width}}  {'time':>9}  {'baseline':<22}  {'base time':>9}  {'ratio':>6}  goal")
    for label, seconds, base_seconds, baseline, goal in rows:
        print(f"{label:<{width}}  {seconds:8.2f}s  {baseline:<22}  {base_seconds:8.2f}s  "
              f"{seconds / base_seconds:5.2f}×  {goal}")


if __name__ == "__main__":
    main()
