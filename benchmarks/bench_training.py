"""Training benchmark: the numbers of issue 22, on Fashion-MNIST (``/usr/share/datasets/fashion-mnist``).

Parts (``--parts``, comma-separated; all by default):
- ``speed``: one fine-tuning epoch of the bundled model by ``training.fit`` vs a plain PyTorch loop with
  the same copy, head, optimiser, batch size and DataLoader (goal ≤ 1.05×, medians of alternating runs);
- ``probe``: a probe epoch after the first (cached features) vs a fine-tuning epoch of the same backbone
  (goal ≥ 50× faster);
- ``memory``: resident memory after epoch 10 vs after epoch 2 of a fine-tuning run (goal within 10 %);
- ``scratch``: the bundled architecture from scratch on the 60 000 training images, 5 epochs (goal test
  top-1 ≥ 0.90);
- ``squeezenet``: a SqueezeNet probe (``../shared/models``) on 2 000 training images converted to RGB
  at 224 px (goal test top-1 ≥ 0.80 on 2 000 test images);
- ``layers``: the layer-wise probe table of the bundled model (2 000 train / 1 000 test images).
Run: ``.venv/bin/python benchmarks/bench_training.py`` (``--quick``: smaller sets, fewer epochs).
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import psutil
import torch
import torch.nn.functional as F
from timing import compare

from cnnviz.core import datasets, models, training
from cnnviz.core.model import heads
from cnnviz.core.model.loaded_model import output_logits
from cnnviz.core.training.augment import Augmented
from cnnviz.core.training.loaders import epoch_order, labelled_batches

SQUEEZENET = Path(__file__).resolve().parents[2] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"
PARTS = ("speed", "probe", "memory", "scratch", "squeezenet", "layers")


def plain_epoch(model, train, config):
    """The baseline: a copy with the same new head, SGD, and the same DataLoader, in a bare loop."""
    def run() -> None:
        module = copy.deepcopy(model.module)
        generator = torch.Generator().manual_seed(0)
        heads.replace_head(module, heads.head_name(model), len(train.classes), generator=generator)
        module.requires_grad_(True).train()
        optimiser = torch.optim.SGD(module.parameters(), lr=config.lr, momentum=config.momentum)
        order = epoch_order(len(train), config.seed, 1).tolist()
        for x, y in labelled_batches(train, Augmented((), model.preprocessor()), order, batch_size=config.batch_size,
                                     workers=config.workers, seed=0):
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(output_logits(module(x)), y).backward()
            optimiser.step()
    return run


def speed(model, train, repeats: int) -> None:
    config = training.TrainConfig(mode="finetune", epochs=1, batch_size=64, lr=0.01)
    ours, theirs = compare(lambda: training.fit(model, train, config=config), plain_epoch(model, train, config),
                           repeats)
    print(f"speed: fit epoch {ours:.2f} s vs plain loop {theirs:.2f} s: {ours / theirs:.3f}× (goal ≤ 1.05×)")


def probe_speed(model, train) -> None:
    probe = training.fit(model, train, config=training.TrainConfig(mode="probe", epochs=3, batch_size=64, lr=0.05))
    fine = training.fit(model, train, config=training.TrainConfig(mode="finetune", epochs=1, batch_size=64))
    later = min(row.seconds for row in probe.rows("train")[1:])
    full = fine.rows("train")[0].seconds
    print(f"probe: epoch after the first {later * 1000:.1f} ms vs fine-tuning epoch {full:.2f} s: "
          f"{full / later:.0f}× faster (goal ≥ 50×)")


def memory(model, train, epochs: int) -> None:
    process = psutil.Process()
    config = training.TrainConfig(mode="finetune", epochs=epochs + 1, batch_size=64, lr=0.01)
    seen: dict[int, float] = {}  # resident MB at the first step after each epoch
    for step in training.fit_steps(model, train, config=config):
        epochs_done = step.partial.history[-1].epoch if step.partial and step.partial.history else 0
        seen.setdefault(epochs_done, process.memory_info().rss / 2**20)
    first, last = seen.get(2), seen.get(max(seen))
    print(f"memory: resident {first:.0f} MB after epoch 2, {last:.0f} MB after epoch {max(seen)}: "
          f"{last / first:.3f}× (goal within 10 %)")


def scored(run, test) -> str:
    scores = training.evaluate(run.model, test)
    return f"test log-loss {scores.loss:.4f} top-1 {scores.top1:.4f} top-3 {scores.top3:.4f}"


def scratch(model, limit: int | None, epochs: int) -> None:
    whole = datasets.fashion_mnist("train", limit=limit)
    test = datasets.fashion_mnist("test")
    began = time.perf_counter()
    run = training.fit(model, whole, config=training.TrainConfig(mode="scratch", epochs=epochs, batch_size=64,
                                                                 optimizer="adam", lr=0.001))
    print(f"scratch: {len(whole)} images, {epochs} epochs in {time.perf_counter() - began:.0f} s: {scored(run, test)}"
          " (goal top-1 ≥ 0.90)")


def squeezenet(train_count: int, test_count: int) -> None:
    if not SQUEEZENET.is_file():
        print("squeezenet: ../shared/models is absent; skipped")
        return
    model = models.load(str(SQUEEZENET))
    train = datasets.fashion_mnist("train", limit=train_count)
    test = datasets.fashion_mnist("test", limit=test_count)
    began = time.perf_counter()
    run = training.fit(model, train, config=training.TrainConfig(mode="probe", epochs=30, batch_size=64,
                                                                 optimizer="adam", lr=0.001))
    print(f"squeezenet probe: {len(train)} images, 30 epochs in {time.perf_counter() - began:.0f} s: "
          f"{scored(run, test)} (goal top-1 ≥ 0.80)")


def layers(model, train_count: int, test_count: int) -> None:
    train = datasets.fashion_mnist("train", limit=train_count)
    test = datasets.fashion_mnist("test", limit=test_count)
    print(f"layer-wise probes, bundled model ({train_count} train / {test_count} test images):")
    for name, score in training.probe_layers(model, train, test).items():
        print(f"  {name:<18} {score.dims:>5} features  test top-1 {score.top1:.4f}  top-3 {score.top3:.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not datasets.fashion_mnist_available():
        print("Fashion-MNIST is not installed (apt install dataset-fashion-mnist)")
        return 1
    quick = args.quick
    model = models.load_default()
    train = datasets.fashion_mnist("train", limit=2000 if quick else 10_000)
    parts = args.parts.split(",")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if "speed" in parts:
        speed(model, train, 1 if quick else 3)
    if "probe" in parts:
        probe_speed(model, train)
    if "memory" in parts:
        memory(model, datasets.fashion_mnist("train", limit=1000 if quick else 5000), 4 if quick else 10)
    if "scratch" in parts:
        scratch(model, 10_000 if quick else None, 2 if quick else 5)
    if "squeezenet" in parts:
        squeezenet(300 if quick else 2000, 300 if quick else 2000)
    if "layers" in parts:
        layers(model, 2000, 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
