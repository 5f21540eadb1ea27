"""What made a figure: the caption printed under an exported figure, written as CSV header comments
beside its raw data and as the JSON sidecar of ``cnnviz run``.

A :class:`Caption` names the model and its weights (pretrained or untrained, with a checksum of the
parameters so that two figures can be told to come from the same weights), the image (or, for a
figure about a whole dataset, the dataset instead), the analysis
(layer, unit, method, target) with every parameter that changes the result, whether the result is
partial (a cancelled run), and the cnnviz version.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

import cnnviz
from cnnviz.core.model.loaded_model import LoadedModel

CHECKSUM_DIGITS = 12
"""Hexadecimal digits of the SHA-256 kept as a model's checksum."""


def model_checksum(module: nn.Module) -> str:
    """The first :data:`CHECKSUM_DIGITS` hex digits of the SHA-256 of ``module``'s state dict (names,
    dtypes, shapes and values of every parameter and buffer, in order); the same weights give the same
    checksum on any device."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{tuple(array.shape)};".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:CHECKSUM_DIGITS]


def cached_checksum(model: LoadedModel) -> str:
    """:func:`model_checksum` of ``model.module``, kept in ``model.cache`` (weights never change while
    cnnviz looks at a model)."""
    if "checksum" not in model.cache:
        model.cache["checksum"] = model_checksum(model.module)
    return str(model.cache["checksum"])


def weights_text(model: LoadedModel) -> str:
    """``"bundled"`` (the bundled model's trained weights), ``"pretrained"``, ``"untrained"`` or the
    weights file's name."""
    if model.source == "default":
        return "bundled"
    if model.path is not None:
        return f"file {model.path.name}"
    return "pretrained" if model.pretrained else "untrained"


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Caption:
    """What made a figure. ``analysis``: the pane or command (``"occlusion"``); ``image``: the image
    it shows; ``dataset``: the dataset a figure about a dataset shows (its ``image`` then empty);
    ``fields``: layer, unit, method, target and every parameter that changes the result, in display
    order."""

    analysis: str
    model: str = ""
    weights: str = ""
    checksum: str = ""
    image: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    version: str = cnnviz.__version__
    dataset: str = ""

    def items(self) -> list[tuple[str, str]]:
        """Every field as (name, text), the common ones first."""
        common = [("analysis", self.analysis), ("model", self.model), ("weights", self.weights),
                  ("checksum", self.checksum), ("image", self.image), ("dataset", self.dataset)]
        own = [(str(k), _text(v)) for k, v in self.fields.items()]
        tail = [("partial", "yes" if self.partial else "no"), ("cnnviz", self.version)]
        return [(k, v) for k, v in common if v] + own + tail

    def lines(self) -> list[str]:
        """The caption strip's text: a first line with model, weights and image (or dataset), a second with the
        analysis and its fields, a third with the version (and PARTIAL when partial)."""
        model = f"{self.model} ({self.weights}, sha256 {self.checksum})" if self.checksum else self.model
        first = " · ".join(t for t in (model, self.image and f"image {self.image}",
                                       self.dataset and f"dataset {self.dataset}") if t)
        own = ", ".join(f"{k}={_text(v)}" for k, v in self.fields.items())
        second = f"{self.analysis}: {own}" if own else self.analysis
        third = f"cnnviz {self.version}" + (" · PARTIAL result (run cancelled or failed)" if self.partial else "")
        return [line for line in (first, second, third) if line]

    def text(self) -> str:
        """:meth:`lines` joined by newlines."""
        return "\n".join(self.lines())

    def comment_lines(self) -> list[str]:
        """The caption as CSV header comments: ``# name: value`` per field."""
        return [f"# {k}: {v}" for k, v in self.items()]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (values kept as numbers where they are, :func:`json_value`);
        :meth:`from_dict` reads it back."""
        return {"analysis": self.analysis, "model": self.model, "weights": self.weights,
                "checksum": self.checksum, "image": self.image, "dataset": self.dataset,
                "fields": {str(k): json_value(v) for k, v in self.fields.items()},
                "partial": self.partial, "cnnviz": self.version}

    @classmethod
    def from_dict(cls, value: Any) -> "Caption":
        """The caption :meth:`as_dict` gave (e.g. read from a session file; tuples come back as lists).
        Raises ValueError naming what is wrong for anything else."""
        if not isinstance(value, Mapping):
            raise ValueError(f"a caption should be a JSON object, not {type(value).__name__}")
        texts = {key: value.get(key, "") for key in ("analysis", "model", "weights", "checksum", "image",
                                                     "dataset", "cnnviz")}
        bad = [key for key, text in texts.items() if not isinstance(text, str)]
        fields, partial = value.get("fields", {}), value.get("partial", False)
        if bad or not texts["analysis"]:
            raise ValueError(f"caption: {', '.join(bad or ['analysis'])} should be text")
        if not isinstance(fields, Mapping) or not isinstance(partial, bool):
            raise ValueError("caption: 'fields' should be a JSON object and 'partial' true or false")
        return cls(texts["analysis"], texts["model"], texts["weights"], texts["checksum"], texts["image"],
                   {str(k): v for k, v in fields.items()}, partial, texts["cnnviz"], texts["dataset"])


def json_value(value: Any) -> Any:
    """``value`` as a JSON value: NumPy scalars and arrays as Python numbers and lists, tuples as lists,
    mappings with text keys; text, numbers, booleans and None as they are; anything else as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def for_model(analysis: str, model: LoadedModel | None, image: str, fields: dict[str, Any],
              partial: bool = False, *, dataset: str = "") -> Caption:
    """The caption of a figure of ``analysis`` on ``model`` (None: no model) and the image called
    ``image`` (empty for a figure about the dataset called ``dataset``)."""
    if model is None:
        return Caption(analysis, image=image, fields=dict(fields), partial=partial, dataset=dataset)
    return Caption(analysis, model.name, weights_text(model), cached_checksum(model), image,
                   dict(fields), partial, dataset=dataset)


def with_comments(csv_text: str, caption: Caption) -> str:
    """``csv_text`` with ``caption``'s :meth:`Caption.comment_lines` above it."""
    return "\n".join(caption.comment_lines()) + "\n" + csv_text
