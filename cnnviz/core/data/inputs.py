"""Checks on the input tensors the analyses receive."""

import torch


def one_image(x: torch.Tensor, analysis: str) -> torch.Tensor:
    """``x`` itself if it is a batch of one image [1, C, H, W]; otherwise a ValueError that names
    ``analysis`` (e.g. ``"occlusion works on one image at a time; got a batch of 4"``)."""
    if x.dim() != 4:
        raise ValueError(f"{analysis} needs an input of shape [1, C, H, W]; got {tuple(x.shape)}")
    if x.shape[0] != 1:
        raise ValueError(f"{analysis} works on one image at a time; got a batch of {x.shape[0]}")
    return x
