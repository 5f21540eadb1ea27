"""The model a run trains: a copy of the user's model with the dataset's head, the layers that start
afresh re-initialised and the ones that do not learn frozen (the user's model is never changed)."""

from dataclasses import dataclass, replace

import torch
from torch import nn

from cnnviz.core.model import heads
from cnnviz.core.model.loaded_model import LoadedModel, output_logits
from cnnviz.core.model.model_copy import model_copy
from cnnviz.core.training.config import TrainConfig


@dataclass
class Prepared:
    """The training copy ``model`` (its categories: the dataset's classes), the ``head`` layer's
    name, whether it was ``replaced``, and the dotted names of the parameters that ``learn``."""

    model: LoadedModel
    head: str
    replaced: bool
    learn: list[str]

    @property
    def module(self) -> nn.Module:
        """The module being trained."""
        return self.model.module


def check_device(device: str) -> torch.device:
    """``device`` as a torch device; ValueError when this machine has none of that kind."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA is not available on this machine")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device: MPS is not available on this machine")
    return torch.device(device)


def prepare(model: LoadedModel, classes: list[str], config: TrainConfig) -> Prepared:
    """The copy of ``model`` to train on ``classes`` by ``config`` (seeded by ``config.seed``; torch's
    global generator is left as it was). Raises ValueError for a head or layer that does not fit."""
    device = check_device(config.device)
    copy = model_copy(model)
    module = copy.module
    order = copy.layer_names()
    head = heads.head_name(copy, config.head_layer)
    generator = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        if config.mode == "scratch":
            heads.reinitialise_all(module)
        if config.reinit_from:
            heads.reinitialise(module, heads.from_layer(order, config.reinit_from), config.head_init, generator)
        if config.head == "replace":
            heads.replace_head(module, head, len(classes), config.head_init, generator)
        else:
            _check_kept_head(copy, len(classes))
    if config.mode == "probe":
        learn = heads.freeze_before(module, [head])
    elif config.unfreeze_from:
        learn = heads.freeze_before(module, heads.from_layer(order, config.unfreeze_from))
    else:
        module.requires_grad_(True)
        learn = [name for name, _ in module.named_parameters()]
    module.to(device)
    if config.channels_last and device.type == "cuda":
        module.to(memory_format=torch.channels_last)
    trained = replace(copy, categories=list(classes), cache={"layer_names": order}, pretrained=True)
    return Prepared(trained, head, config.head == "replace", learn)


def _check_kept_head(model: LoadedModel, classes: int) -> None:
    with torch.no_grad():
        outputs = output_logits(model.module.eval()(model.dummy_input())).shape[-1]
    if outputs != classes:
        raise ValueError(f"head: the model's head gives {outputs} scores but the dataset has {classes} classes; "
                         "use head=replace")


def set_modes(prepared: Prepared, probe: bool) -> None:
    """Training modes for an epoch: a probe keeps everything but the head in eval mode (batch-norm
    statistics and dropout as loaded); otherwise every layer trains except those with parameters
    that all stay frozen."""
    module = prepared.module
    if probe:
        module.eval()
        module.get_submodule(prepared.head).train()
        return
    module.train()
    for sub in module.modules():
        own = list(sub.parameters(recurse=False))
        if own and not any(p.requires_grad for p in own):
            sub.eval()
