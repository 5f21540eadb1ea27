"""The optimiser, the learning-rate schedule and the optimiser step of a run (with mixed precision on
CUDA when asked)."""

import contextlib
import math
from contextlib import AbstractContextManager

import torch
from torch import nn

from cnnviz.core.training.config import TrainConfig


def optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser of ``config`` over the parameters of ``module`` that learn; ValueError when none does."""
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every parameter of the model is frozen")
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                               weight_decay=config.weight_decay)
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(params, lr=config.lr, weight_decay=config.weight_decay)


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (1-based) by ``config.schedule``."""
    done = epoch - 1
    if config.schedule == "step":
        return config.lr * config.step_factor ** (done // config.step_every)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * done / config.epochs))
    return config.lr


def set_lr(optimizer: torch.optim.Optimizer, config: TrainConfig, epoch: int) -> float:
    """Give every parameter group the learning rate of ``epoch``; returns it."""
    lr = lr_at(config, epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def scaler(config: TrainConfig) -> torch.amp.GradScaler | None:
    """A gradient scaler for mixed precision on CUDA, else None."""
    return torch.amp.GradScaler("cuda") if config.amp and config.device == "cuda" else None


def autocast(config: TrainConfig, device: torch.device) -> AbstractContextManager:
    """float16 autocast on CUDA when ``config.amp``, else nothing."""
    if config.amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def step(optimizer: torch.optim.Optimizer, grad_scaler: torch.amp.GradScaler | None, loss: torch.Tensor) -> None:
    """One optimiser step on ``loss`` (gradients cleared first)."""
    optimizer.zero_grad(set_to_none=True)
    if grad_scaler is None:
        loss.backward()
        optimizer.step()
        return
    grad_scaler.scale(loss).backward()
    grad_scaler.step(optimizer)
    grad_scaler.update()
