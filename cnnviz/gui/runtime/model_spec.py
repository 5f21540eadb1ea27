"""What to load as the model, and loading it: the bundled default, a zoo architecture or a file.

A :class:`ModelSpec` is small and hashable so it can be remembered in the settings and passed to a
background task; :func:`load_model` turns it into a :class:`~cnnviz.core.model.models.LoadedModel` with core
calls only.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from cnnviz.core.data.resources import resource_path
from cnnviz.core.model import models
from cnnviz.core.progress import ProgressFn

Source = Literal["default", "zoo", "file"]


@dataclass(frozen=True)
class ModelSpec:
    """How to load a model.

    ``source`` is ``"default"`` (the bundled model), ``"zoo"`` (``name`` is a torchvision
    architecture) or ``"file"`` (``name`` is a path). ``pretrained`` only matters for the zoo;
    ``arch`` names the zoo architecture of a state_dict file (None: guess it); ``trust`` allows
    unpickling a whole-model file.
    """

    source: Source = "default"
    name: str = "default"
    pretrained: bool = True
    arch: str | None = None
    trust: bool = False
    device: str = "cpu"

    @property
    def text(self) -> str:
        """The command-line form: ``"default"``, a zoo name or a file path."""
        return "default" if self.source == "default" else self.name

    @property
    def short_name(self) -> str:
        """A name for messages: the zoo name, the file name (with its folder for ``model.py``) or
        "the default model"."""
        if self.source == "file":
            path = Path(self.name)
            return f"{path.parent.name}/{path.name}" if path.stem == "model" else path.name
        return self.name if self.source == "zoo" else "the default model"

    def with_changes(self, **changes: Any) -> "ModelSpec":
        """A copy with the given fields changed."""
        return replace(self, **changes)


def spec_from_text(text: str, pretrained: bool = True, arch: str | None = None, trust: bool = False,
                   device: str = "cpu") -> ModelSpec:
    """The spec for a command-line style ``text``: ``"default"``, a zoo name, or a file path."""
    if text == "default":
        return ModelSpec(device=device)
    if text in models.zoo_names():
        return ModelSpec("zoo", text, pretrained=pretrained, device=device)
    return ModelSpec("file", str(Path(text).expanduser().resolve()), arch=arch, trust=trust,
                     device=device)


def model_file_exists(path: str | Path) -> bool:
    """True when ``path`` is a model file or a training checkpoint (its folder or one of its files)."""
    path = Path(path).expanduser()
    return path.is_file() or models.checkpoint_folder(path) is not None


def load_model(spec: ModelSpec, progress: ProgressFn | None = None) -> models.LoadedModel:
    """Load the model ``spec`` describes; ``progress(bytes, total)`` follows a weights download.

    Raises :class:`~cnnviz.core.model.models.ModelLoadError` (and its subclasses) or
    :class:`~cnnviz.core.Cancelled` when ``progress`` returned False.
    """
    if spec.source == "default":
        return models.load_default().to(spec.device)
    if spec.source == "zoo":
        return models.load_zoo(spec.name, pretrained=spec.pretrained, progress=progress,
                               device=spec.device)
    if models.checkpoint_folder(spec.name) is not None:
        return models.load_checkpoint(spec.name, trust=spec.trust, device=spec.device)
    return models.load_file(spec.name, arch=spec.arch, trust=spec.trust, device=spec.device)


def default_model_name() -> str:
    """Name of the bundled model from its metadata, without loading its weights."""
    try:
        meta = json.loads(resource_path("default_model.json").read_text(encoding="utf-8"))
        return str(meta["name"])
    except (OSError, ValueError, KeyError):
        return "default model"
