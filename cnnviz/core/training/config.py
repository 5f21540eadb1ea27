"""What a training run does: :class:`TrainConfig`, frozen settings with their labels, help and ranges
(the source of the Training pane's form, ``cnnviz train --set`` and the checkpoint's description)."""

import math
from dataclasses import dataclass

from cnnviz.core.model.heads import HEAD_INITS
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.training.augment import check_augmentation

MODES = ("probe", "finetune", "scratch")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine")
HEADS = ("replace", "keep")
DEVICES = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig(SettingsBase):
    """How to train; see each field's help. Checked on construction (ValueError naming the field)."""

    mode: str = setting("finetune", label="Mode", choices=MODES, help=(
        "probe: only the head learns, the rest stays as loaded; finetune: every layer learns (or those from "
        "'Unfreeze from' on); scratch: every weight starts afresh."))
    epochs: int = setting(10, label="Epochs", low=1, high=10_000, help="Passes over the training images.")
    batch_size: int = setting(32, label="Batch size", unit="images", low=1, high=4096,
                              help="Images per optimiser step.")
    optimizer: str = setting("sgd", label="Optimiser", choices=OPTIMIZERS,
                             help="sgd (with momentum), adam, or adamw (Adam with decoupled weight decay).")
    lr: float = setting(0.01, label="Learning rate", low=0.0, high=10.0,
                        help="Step size of the optimiser at the start (above 0).")
    momentum: float = setting(0.9, label="Momentum", low=0.0, high=0.999, help="SGD momentum (0: none).")
    nesterov: bool = setting(False, label="Nesterov", help="SGD with Nesterov momentum.")
    weight_decay: float = setting(0.0, label="Weight decay", low=0.0, high=1.0,
                                  help="L2 penalty (sgd, adam) or decoupled decay (adamw) on every learning weight.")
    schedule: str = setting("none", label="Schedule", choices=SCHEDULES, help=(
        "How the learning rate changes over epochs: none; step (times 'Step factor' every 'Step every' "
        "epochs); cosine (down to 0 at the last epoch)."))
    step_every: int = setting(10, label="Step every", unit="epochs", low=1, high=10_000,
                              help="Epochs between the drops of a step schedule.")
    step_factor: float = setting(0.1, label="Step factor", low=0.0, high=1.0,
                                 help="What a step schedule multiplies the learning rate by.")
    augment: tuple[str, ...] = setting((), label="Augment", help=(
        "Random changes to each training image: hflip, rotate:DEGREES, crop:SCALE (a random crop of at least "
        "that share of the area), noise:STD (Gaussian, in pixel units of 0…1), colour:AMOUNT (brightness, "
        "contrast, saturation)."))
    seed: int = setting(0, label="Seed", low=0, high=2**31 - 1,
                        help="Seeds the new weights, the shuffling and the augmentation: same seed, same run.")
    head: str = setting("replace", label="Head", choices=HEADS,
                        help="replace: a new last layer for the dataset's classes; keep: train the model's own.")
    head_layer: str = setting("", label="Head layer", help=(
        "The layer that makes the class scores (empty: the last nn.Linear or 1×1 nn.Conv2d)."))
    head_init: str = setting("xavier", label="Head init", choices=HEAD_INITS,
                             help="How a new head, and the layers re-initialised, start.")
    unfreeze_from: str = setting("", label="Unfreeze from", help=(
        "finetune: only this layer and the ones after it learn (empty: every layer)."))
    reinit_from: str = setting("", label="Re-initialise from", help=(
        "This layer and the ones after it start afresh (by 'Head init'); the earlier ones keep their weights."))
    early_stop: int | None = setting(None, label="Early stop", unit="epochs", low=1, high=10_000, none="never",
                                     help="Stop when the validation loss has not improved for this many epochs.")
    amp: bool = setting(False, label="Mixed precision", help="CUDA only: float16 autocast with a gradient scaler.")
    channels_last: bool = setting(False, label="Channels last", help="CUDA only: NHWC memory layout.")
    device: str = setting("cpu", label="Device", choices=DEVICES, help="Where to train.")
    workers: int | None = setting(None, label="Loader workers", low=0, high=64, none="one per core but one",
                                  help="DataLoader processes that decode and augment images (0: none).")

    def check(self) -> None:
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr: the learning rate must be a finite number above 0, not {self.lr!r}")
        for item in self.augment:
            check_augmentation(item)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("nesterov: needs optimizer sgd with a momentum above 0")
        if self.mode == "probe" and self.unfreeze_from:
            raise ValueError("unfreeze_from: a probe trains the head only; use mode finetune")
        if self.mode == "scratch" and self.reinit_from:
            raise ValueError("reinit_from: from scratch every layer starts afresh already")
