"""Training-image augmentation by name, built from ``torchvision.transforms.v2``.

An augmentation is written ``NAME`` or ``NAME:VALUE``: ``hflip`` (mirror half of the images),
``rotate:DEG`` (a random angle in ±DEG degrees, corners filled with the mean colour), ``crop:SCALE``
(a random crop of at least SCALE of the area, 0 < SCALE ≤ 1, resized back), ``noise:STD`` (Gaussian
noise of STD in pixel units of 0…1, added after the model's preprocessing) and ``colour:AMOUNT``
(brightness, contrast and, for colour images, saturation each changed by up to ±AMOUNT).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from cnnviz.core.model.loaded_model import Preprocessor

if TYPE_CHECKING:
    from torchvision.transforms import v2

LIMITS: dict[str, tuple[float, float] | None] = {
    "hflip": None, "rotate": (0.0, 180.0), "crop": (0.01, 1.0), "noise": (0.0, 1.0), "colour": (0.0, 1.0),
}
"""Each augmentation's value range (None: it takes no value)."""
FORMS = "hflip, rotate:DEG, crop:SCALE, noise:STD, colour:AMOUNT"


def parse(item: str) -> tuple[str, float]:
    """``(name, value)`` of augmentation ``item`` (value 0 for ``hflip``); ValueError naming what works."""
    name, _, text = item.strip().partition(":")
    if name not in LIMITS:
        raise ValueError(f"augment: {item!r} is not an augmentation; use {FORMS}")
    limits = LIMITS[name]
    if limits is None:
        if text:
            raise ValueError(f"augment: {name} takes no value")
        return name, 0.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"augment: {name} needs a number, e.g. {name}:{limits[1] / 10:g}") from None
    if not limits[0] <= value <= limits[1]:
        raise ValueError(f"augment: {name}:{text} is outside {limits[0]:g}…{limits[1]:g}")
    return name, value


def check_augmentation(item: str) -> None:
    """Raise ValueError when ``item`` is not a valid augmentation."""
    parse(item)


@dataclass(frozen=True)
class Augmented:
    """``preprocess`` with the random ``items`` applied: PIL image -> [C, H, W]. Plain data, so it
    pickles into DataLoader workers; the randomness comes from torch's generator of the process
    (seeded per epoch and per worker by the trainer)."""

    items: tuple[str, ...]
    preprocess: Preprocessor

    def __call__(self, image: Image.Image) -> torch.Tensor:
        parsed = dict(parse(item) for item in self.items)
        transform = self._image_transform(parsed, image)
        if transform is not None:
            image = transform(image)
        x = self.preprocess(image)
        if parsed.get("noise"):
            std = torch.tensor(self.preprocess.std, dtype=x.dtype).view(-1, 1, 1)
            x = x + torch.randn_like(x) * (parsed["noise"] / std)
        return x

    def _image_transform(self, parsed: dict[str, float], image: Image.Image) -> "v2.Compose | None":
        """The changes to the PIL image, or None; torchvision (seconds to import) only when there are some."""
        if not parsed.keys() & {"crop", "hflip", "rotate", "colour"}:
            return None
        from torchvision.transforms import v2

        steps: list[Any] = []
        if "crop" in parsed:
            steps.append(v2.RandomResizedCrop((image.height, image.width), scale=(parsed["crop"], 1.0),
                                              antialias=True))
        if "hflip" in parsed:
            steps.append(v2.RandomHorizontalFlip())
        if parsed.get("rotate"):
            fill = self.preprocess.fill
            steps.append(v2.RandomRotation(parsed["rotate"], fill=list(fill) if isinstance(fill, tuple) else fill))
        if parsed.get("colour"):
            amount = parsed["colour"]
            colour = image.mode not in ("L", "I", "F", "1")
            steps.append(v2.ColorJitter(brightness=amount, contrast=amount, saturation=amount if colour else None))
        return v2.Compose(steps)
