"""Deep-dream benchmark on VGG16 (untrained; timing does not depend on weights), CPU.

Prints:
- ms per dream step vs a bare loop of (forward truncated at the layer + backward to the input) at
  224×224 for an early layer (features.8) and a late one (features.28); goal ≤ 1.15×. The
  probability curve is off (``prob_every=0``) and jitter on, as in normal use;
- the speed-up of the truncated forward vs a full forward for the early layer;
- on SqueezeNet at 224×224 (``../shared/models/squeezenet1_0_imagenet``, skipped when absent): ms per
  step with the default probability curve (``prob_every=4``, from the step's own pass) vs the ascent
  alone (``prob_every=0``); goal ≤ 1.1×;
- peak resident memory of one process per case: 224×224 untiled, 1024×1024 in 224-px tiles and
  1024×1024 untiled (tiling keeps memory bounded).
Run: ``.venv/bin/python benchmarks/bench_dream.py``
"""

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import torch
from timing import compare

from cnnviz.core.model import models
from cnnviz.core.per_image import dream

SQUEEZENET = Path(__file__).resolve().parents[2] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"


class _Stop(Exception):
    pass


def bare_step(model: models.LoadedModel, x: torch.Tensor, layer: str):
    """Forward to ``layer`` (stopped there by a hook) + backward of ‖a‖² to the input."""
    module = dict(model.module.named_modules())[layer]

    def run() -> None:
        kept = []

        def hook(_m, _i, output):
            kept.append(output)
            raise _Stop

        handle = module.register_forward_hook(hook)
        source = x.clone().requires_grad_(True)
        try:
            model.module(source)
        except _Stop:
            pass
        finally:
            handle.remove()
        torch.autograd.grad((kept[0] ** 2).sum(), source)

    return run


def dream_steps(model: models.LoadedModel, x: torch.Tensor, layer: str, steps: int, prob_every: int = 0):
    cfg = dream.DreamConfig(layer=layer, iterations=steps, octaves=1, jitter=8, prob_every=prob_every, target=0)

    def run() -> None:
        for _ in dream.run(model, x, config=cfg):
            pass

    return run


def full_step(model: models.LoadedModel, x: torch.Tensor):
    def run() -> None:
        source = x.clone().requires_grad_(True)
        torch.autograd.grad(model.module(source)[0, 0], source)

    return run


def memory_case(size: int, tile: int) -> None:
    """Child process: two dream steps at ``size``×``size`` with ``tile``; prints peak RSS in MB."""
    model = models.load_zoo("vgg16", pretrained=False)
    cfg = dream.DreamConfig(layer="features.15", iterations=2, octaves=1, tile=tile, overlap=32, prob_every=0)
    dream.dream(model, torch.randn(1, 3, size, size) * 0.5, config=cfg)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="dream steps per timed run")
    parser.add_argument("--memory-case", nargs=2, type=int, metavar=("SIZE", "TILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_case:
        memory_case(*args.memory_case)
        return
    torch.manual_seed(0)
    model = models.load_zoo("vgg16", pretrained=False)
    x = torch.randn(1, 3, 224, 224) * 0.5
    steps = args.steps
    print(f"{'measure':<42} {'ours':>10} {'baseline':>10} {'ratio':>7}  goal")
    for layer in ("features.8", "features.28"):
        bare_steps = lambda: [bare_step(model, x, layer)() for _ in range(steps)]  # noqa: E731
        ours, bare = compare(dream_steps(model, x, layer, steps), bare_steps, args.repeats)
        print(f"{'ms per step, ' + layer:<42} {ours / steps * 1e3:8.1f}ms {bare / steps * 1e3:8.1f}ms "
              f"{ours / bare:6.2f}×  ≤ 1.15×")
    truncated, full = compare(bare_step(model, x, "features.8"), full_step(model, x), args.repeats)
    print(f"{'truncated (features.8) vs full fwd+bwd':<42} {truncated * 1e3:8.1f}ms {full * 1e3:8.1f}ms "
          f"{full / truncated:6.2f}× faster")
    if SQUEEZENET.is_file():
        squeezenet = models.load_file(SQUEEZENET)
        layer, count = "features.7", 4 * steps
        with_prob, without = compare(dream_steps(squeezenet, x, layer, count, prob_every=4),
                                     dream_steps(squeezenet, x, layer, count, prob_every=0), args.repeats)
        print(f"{'SqueezeNet ' + layer + ': prob_every=4 vs 0':<42} {with_prob / count * 1e3:8.1f}ms "
              f"{without / count * 1e3:8.1f}ms {with_prob / without:6.2f}×  ≤ 1.1×")
    print("\npeak resident memory, one process per case (features.15, 2 steps):")
    for size, tile in ((224, 4096), (1024, 224), (1024, 4096)):
        output = subprocess.run([sys.executable, __file__, "--memory-case", str(size), str(tile)],
                                capture_output=True, text=True, check=True).stdout
        label = f"{size}×{size} " + ("untiled" if tile >= size else f"in {tile}-px tiles")
        print(f"  {label:<28} {json.loads(output.strip().splitlines()[-1])['peak_mb']:8.0f} MB")


if __name__ == "__main__":
    main()
