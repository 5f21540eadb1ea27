"""Data-parallel training with ``torch.distributed`` (started by ``torchrun``): the process group, the
model wrapped in DistributedDataParallel, and scores summed over processes. Outside ``torchrun``
every function here is a no-op for a single process."""

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cnnviz.core.training.metrics import Tally


def active() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def world() -> int:
    """The number of training processes (1 outside ``torchrun``)."""
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """This process's rank (0 outside ``torchrun``)."""
    return dist.get_rank() if active() else 0


def start_from_environment(device: str = "cpu") -> bool:
    """Join the process group ``torchrun`` describes in the environment (``WORLD_SIZE`` > 1): gloo
    on CPU, nccl on CUDA (each process on GPU ``LOCAL_RANK``). False when there is none to join."""
    if active() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return active()
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return True


def stop() -> None:
    """Leave the process group, if any."""
    if active():
        dist.destroy_process_group()


def wrap(module: nn.Module) -> nn.Module:
    """``module`` in DistributedDataParallel when several processes train, else itself."""
    if world() == 1:
        return module
    device = next(module.parameters()).device
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def all_finite(loss: torch.Tensor) -> bool:
    """Whether ``loss`` is finite in every process (so that all of them stop together when one is not)."""
    finite = torch.isfinite(loss.detach()).to(torch.float32).reshape(1)
    if world() > 1:
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite.item())


def reduce_tally(tally: Tally) -> Tally:
    """``tally`` summed over every process (itself for one)."""
    if world() == 1:
        return tally
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    sums = torch.tensor([tally.loss, tally.top1, tally.top3, tally.count], dtype=torch.float64, device=device)
    confusion = torch.from_numpy(tally.confusion).to(device)
    dist.all_reduce(sums)
    dist.all_reduce(confusion)
    total = Tally(tally.classes)
    total.loss, total.top1, total.top3, total.count = float(sums[0]), int(sums[1]), int(sums[2]), int(sums[3])
    total.confusion = confusion.cpu().numpy()
    return total
