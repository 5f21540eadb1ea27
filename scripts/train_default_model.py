"""Train the bundled default model (``build_bundled_net``) on Fashion-MNIST, on the CPU, reproducibly.

Writes ``default_model.pth`` (float32 state_dict, loadable with ``torch.load(weights_only=True)``) and
``default_model.json`` (metadata: classes, normalisation, test accuracy, dataset checksum, ...) to
``--out-dir`` (default: the repository's ``resources/``).

Usage (from the repository root)::

    .venv/bin/python scripts/train_default_model.py [--epochs 8] [--seed 0]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cnnviz.core.data import fashion_mnist  # noqa: E402
from cnnviz.core.model.bundled_net import INPUT_SIZE, build_bundled_net  # noqa: E402

MODEL_NAME = "ZFNet-mini (Fashion-MNIST)"
ARCHITECTURE = "cnnviz.core.model.bundled_net.build_bundled_net"
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-4
NUM_THREADS = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8, help="number of passes over the train split")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, data order, dropout, flips")
    parser.add_argument("--data-dir", type=Path, default=fashion_mnist.DATA_DIR,
                        help="folder with the four gzip'd Fashion-MNIST idx files")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "resources",
                        help="where default_model.pth and default_model.json are written")
    return parser.parse_args(argv)


def normalise(images: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """Map uint8 images [N, 28, 28] (0..255) to a float32 tensor [N, 1, 28, 28]: (x / 255 - mean) / std."""
    pixels = torch.from_numpy(images).to(torch.float32).div_(255.0)
    return pixels.sub_(mean).div_(std).unsqueeze(1)


def train_epoch(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                generator: torch.Generator) -> tuple[float, float]:
    """One epoch over shuffled mini-batches with random horizontal flips.

    Returns (mean cross-entropy loss in nats, training accuracy in [0, 1]).
    """
    model.train()
    order = torch.randperm(len(inputs), generator=generator)
    total_loss, correct = 0.0, 0
    for start in range(0, len(order), BATCH_SIZE):
        index = order[start:start + BATCH_SIZE]
        batch, target = inputs[index], labels[index]
        flip = torch.rand(len(batch), generator=generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        logits = model(batch)
        loss = nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total_loss += loss.item() * len(batch)
        correct += int((logits.argmax(1) == target).sum())
    return total_loss / len(inputs), correct / len(inputs)


@torch.no_grad()
def evaluate(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` (switched to eval mode) on normalised ``inputs``."""
    model.eval()
    correct = 0
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start:start + batch_size])
        correct += int((logits.argmax(1) == labels[start:start + batch_size]).sum())
    return correct / len(inputs)


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate, and write the weights and metadata."""
    args = parse_args(argv)
    torch.set_num_threads(NUM_THREADS)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(args.seed)

    train_images, train_labels = fashion_mnist.load_split("train", args.data_dir)
    test_images, test_labels = fashion_mnist.load_split("test", args.data_dir)
    scaled = train_images.astype(np.float64) / 255.0
    mean, std = round(float(scaled.mean()), 6), round(float(scaled.std()), 6)
    train_x, train_y = normalise(train_images, mean, std), torch.from_numpy(train_labels)
    test_x, test_y = normalise(test_images, mean, std), torch.from_numpy(test_labels)
    print(f"train {len(train_x)}, test {len(test_x)} images; mean {mean}, std {std}")

    model = build_bundled_net()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    steps = args.epochs * ((len(train_x) + BATCH_SIZE - 1) // BATCH_SIZE)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps)

    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        loss, train_acc = train_epoch(model, train_x, train_y, optimizer, scheduler, generator)
        print(f"epoch {epoch:2d}/{args.epochs}: loss {loss:.4f}, train accuracy {train_acc:.4f}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    training_seconds = time.perf_counter() - started

    accuracy = evaluate(model, test_x, test_y)
    print(f"test accuracy {accuracy:.4f} ({training_seconds:.0f} s training)")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().to(torch.float32).contiguous().clone()
             for key, value in model.state_dict().items()}
    torch.save(state, args.out_dir / "default_model.pth")
    metadata = {
        "name": MODEL_NAME,
        "architecture": ARCHITECTURE,
        "classes": list(fashion_mnist.CLASSES),
        "mean": [mean],
        "std": [std],
        "input_size": list(INPUT_SIZE),
        "in_channels": 1,
        "test_accuracy": round(accuracy, 4),
        "data_sha256": fashion_mnist.checksum(args.data_dir),
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": BATCH_SIZE,
        "optimizer": (f"AdamW(lr={LEARNING_RATE}, weight_decay={WEIGHT_DECAY}), one-cycle LR schedule, "
                      "random horizontal flips"),
        "training_seconds": round(training_seconds, 1),
        "torch_version": torch.__version__,
    }
    with open(args.out_dir / "default_model.json", "w", encoding="utf-8") as stream:
        json.dump(metadata, stream, indent=2)
        stream.write("\n")
    print(f"wrote {args.out_dir / 'default_model.pth'} and {args.out_dir / 'default_model.json'}")


if __name__ == "__main__":
    main()
