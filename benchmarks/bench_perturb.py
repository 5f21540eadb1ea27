"""Perturbation benchmark: occlusion maps and invariance curves vs their physical floor and Captum.

For AlexNet and ResNet18 (untrained; timing does not depend on weights) at 224×224, window 32,
stride 8 (625 occluder positions), prints:
- our occlusion vs Captum's ``Occlusion`` with ``perturbations_per_eval`` = our batch size (goal
  ≤ 1.0×) and with its default of 1 (reported);
- our occlusion vs the same number of plain batched forward passes (goal ≤ 1.1×);
- 36 rotations of the invariance curve vs 36 batched forwards (goal ≤ 1.2×);
- time per occluder position for three strides (cost must grow linearly with positions).
Run: ``.venv/bin/python benchmarks/bench_perturb.py`` (add ``--quick`` to skip Captum's default).
"""

import argparse

import torch
from timing import compare

from cnnviz.core.model import models
from cnnviz.core.model.batching import DEFAULT_BATCH
from cnnviz.core.per_image import invariance, occlusion

WINDOW, STRIDE = 32, 8


def plain_batches(model: models.LoadedModel, x: torch.Tensor, count: int, batch: int):
    """``count`` forward passes of copies of ``x``, ``batch`` at a time, with softmax (the floor)."""

    def run() -> None:
        with torch.no_grad():
            for start in range(0, count, batch):
                size = min(batch, count - start)
                torch.softmax(model.module(x.expand(size, -1, -1, -1).contiguous()), dim=1)

    return run


def captum_occlusion(model: models.LoadedModel, x: torch.Tensor, target: int, per_eval: int):
    from captum.attr import Occlusion

    def probabilities(batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model.module(batch), dim=1)

    def run() -> None:
        with torch.no_grad():
            Occlusion(probabilities).attribute(
                x, sliding_window_shapes=(3, WINDOW, WINDOW), strides=(3, STRIDE, STRIDE), baselines=0,
                target=target, perturbations_per_eval=per_eval)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="skip Captum with perturbations_per_eval=1")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224)
    rows: list[tuple[str, float, float, str, str]] = []
    scaling: list[tuple[str, int, float]] = []
    for name in ("alexnet", "resnet18"):
        model = models.load_zoo(name, pretrained=False)
        target = int(model.probabilities(x)[0].argmax())
        positions = len(occlusion.grid((224, 224), WINDOW, STRIDE)[0]) ** 2

        def ours() -> object:
            return occlusion.occlude(model, x, target=target, window=WINDOW, stride=STRIDE, batch_size=DEFAULT_BATCH)

        rows.append((f"occlusion {positions} pos., {name}", *compare(
            ours, captum_occlusion(model, x, target, DEFAULT_BATCH), args.repeats),
            f"Captum ppe={DEFAULT_BATCH}", "≤ 1.0×"))
        if not args.quick:
            rows.append((f"occlusion {positions} pos., {name}", *compare(
                ours, captum_occlusion(model, x, target, 1), 1), "Captum ppe=1", "report"))
        rows.append((f"occlusion {positions} pos., {name}", *compare(
            ours, plain_batches(model, x, positions, DEFAULT_BATCH), args.repeats),
            f"{positions} batched forwards", "≤ 1.1×"))
        rows.append((f"invariance 36 rotations, {name}", *compare(
            lambda: invariance.curves(model, x, kind="rotation", target=target),
            plain_batches(model, x, 36, DEFAULT_BATCH), args.repeats), "36 batched forwards", "≤ 1.2×"))
        for stride in (32, 16, 8):
            count = len(occlusion.grid((224, 224), WINDOW, stride)[0]) ** 2
            seconds, _ = compare(lambda: occlusion.occlude(model, x, target=target, window=WINDOW, stride=stride),
                                 lambda: None, 1)
            scaling.append((name, count, seconds))

    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'time':>9}  {'baseline':<22}  {'base time':>9}  {'ratio':>6}  goal")
    for label, seconds, base_seconds, baseline, goal in rows:
        print(f"{label:<{width}}  {seconds:8.2f}s  {baseline:<22}  {base_seconds:8.2f}s  "
              f"{seconds / base_seconds:5.2f}×  {goal}")
    print("\nlinear scaling (window 32): model, positions, seconds, ms per position")
    for name, count, seconds in scaling:
        print(f"  {name:<9} {count:5d} {seconds:8.2f}s {seconds / count * 1e3:8.2f}")


if __name__ == "__main__":
    main()
