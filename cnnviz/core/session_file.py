"""Session files: what the app shows, saved to open again later (``.cnnviz``).

A session file is a zip archive holding ``session.json`` and, when there was one, the input image as
``image.png`` (lossless, so the network sees the same pixels). The JSON has the format name and
version, the model source (the bundled model, a zoo name with pretrained or untrained weights, or a
file path; with the checksum of the weights, :func:`cnnviz.core.caption.model_checksum`), the device,
the image's name and path, the target class, the shared layer and channel selection, the current tab and
every pane's settings (JSON values by pane key). Nothing is pickled: reading a session runs no code.
:func:`read_session` raises ValueError with a reason for anything that is not such a file.
"""

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

import cnnviz

FORMAT = "cnnviz-session"
VERSION = 1
SUFFIX = ".cnnviz"
JSON_NAME = "session.json"
IMAGE_NAME = "image.png"
MAX_JSON_BYTES = 64 * 2**20
MAX_IMAGE_BYTES = 512 * 2**20
"""Largest uncompressed members read (a damaged or hostile file is refused, not unpacked)."""
MAX_IMAGE_PIXELS = 200_000_000

Source = Literal["default", "zoo", "file"]


@dataclass(frozen=True)
class ModelSource:
    """Where the model came from: ``kind`` ``"default"`` (the bundled model), ``"zoo"`` (``name`` is a
    torchvision architecture, ``pretrained`` or random weights) or ``"file"`` (``name`` is the file's
    path, ``arch`` the zoo architecture of a state-dict file, None: guessed); ``checksum`` of the
    weights ("" if unknown)."""

    kind: Source = "default"
    name: str = "default"
    pretrained: bool = True
    arch: str | None = None
    checksum: str = ""


@dataclass(frozen=True, eq=False)
class Session:
    """What a session file holds; see the module docstring. ``image``: the input image (None: none);
    ``target``, ``channel``: -1 for none; ``pinned``: the target was chosen (else it follows the top-1
    class); ``panes``: each pane's settings by pane key."""

    model: ModelSource = field(default_factory=ModelSource)
    device: str = "cpu"
    image: Image.Image | None = None
    image_name: str = ""
    image_path: str = ""
    target: int = -1
    pinned: bool = False
    layer: str = ""
    channel: int = -1
    tab: str = ""
    panes: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str = cnnviz.__version__

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``session.json``."""
        model = self.model
        return {"format": FORMAT, "format_version": VERSION, "cnnviz": self.version,
                "model": {"source": model.kind, "name": model.name, "pretrained": model.pretrained,
                          "arch": model.arch, "checksum": model.checksum},
                "device": self.device, "image": {"name": self.image_name, "path": self.image_path,
                                                 "file": IMAGE_NAME if self.image is not None else None},
                "target": self.target, "target_pinned": self.pinned, "layer": self.layer,
                "channel": self.channel, "tab": self.tab,
                "panes": {key: dict(values) for key, values in self.panes.items()}}


def session_path(path: str | Path) -> Path:
    """``path`` with the :data:`SUFFIX` added when it has none."""
    path = Path(path)
    return path if path.suffix else path.with_suffix(SUFFIX)


def write_session(path: str | Path, session: Session) -> Path:
    """Write ``session`` to ``path`` (:func:`session_path`), replacing it whole (a temporary file is
    renamed over it); returns the path. Raises OSError, or ValueError for settings that are not JSON
    values (NaN and infinities are stored as null)."""
    path = session_path(path)
    try:
        text = json.dumps(_finite(session.as_dict()), indent=1, ensure_ascii=False, allow_nan=False)
    except TypeError as error:
        raise ValueError(f"a setting is not a JSON value: {error}") from None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, text)
        if session.image is not None:
            png = io.BytesIO()
            session.image.save(png, "PNG")
            archive.writestr(IMAGE_NAME, png.getvalue(), compress_type=zipfile.ZIP_STORED)
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(buffer.getvalue())
    temporary.replace(path)
    return path


def read_session(path: str | Path) -> Session:
    """The session in the file ``path``. Raises OSError if it cannot be read, ValueError (with the
    reason) if it is not a cnnviz session of a version this cnnviz reads."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            document = _document(archive)
            image = _image(archive) if _get(document, "image", dict, {}).get("file") else None
    except zipfile.BadZipFile:
        raise ValueError(f"{path.name} is not a cnnviz session (not a zip archive)") from None
    return _session(document, image)


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"not a cnnviz session: {name} is missing") from None
    if info.file_size > limit:
        raise ValueError(f"{name} is too large ({info.file_size} bytes)")
    return archive.read(info)


def _document(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        document = json.loads(_member(archive, JSON_NAME, MAX_JSON_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{JSON_NAME} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a cnnviz session (no cnnviz-session format in session.json)")
    version = document.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"unknown session format version {version!r}")
    if version > VERSION:
        raise ValueError(f"the session was saved by a newer cnnviz (format {version}; this one reads "
                         f"{VERSION}); update cnnviz to open it")
    return document


def _image(archive: zipfile.ZipFile) -> Image.Image:
    data = _member(archive, IMAGE_NAME, MAX_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{IMAGE_NAME} is too large ({image.width}×{image.height})")
            image.load()
            return image.copy()
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{IMAGE_NAME} is not a readable PNG image: {error}") from None


def _get(document: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """``document[key]`` checked to be of ``kind`` (``default`` where it is missing)."""
    if key not in document:
        return default
    value = document[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise ValueError(f"session.json: {key!r} should be {kind.__name__}, not {value!r}")
    return value


def _model(document: dict[str, Any]) -> ModelSource:
    model = _get(document, "model", dict, {})
    kind = _get(model, "source", str, "default")
    if kind not in ("default", "zoo", "file"):
        raise ValueError(f"session.json: unknown model source {kind!r}")
    arch = model.get("arch")
    if arch is not None and not isinstance(arch, str):
        raise ValueError(f"session.json: model 'arch' should be str, not {arch!r}")
    return ModelSource(kind, _get(model, "name", str, "default"), _get(model, "pretrained", bool, True), arch,
                       _get(model, "checksum", str, ""))


def _session(document: dict[str, Any], image: Image.Image | None) -> Session:
    picture = _get(document, "image", dict, {})
    panes = _get(document, "panes", dict, {})
    bad = [key for key, values in panes.items() if not isinstance(values, dict)]
    if bad:
        raise ValueError(f"session.json: the settings of {', '.join(bad)} are not a JSON object")
    return Session(model=_model(document), device=_get(document, "device", str, "cpu"), image=image,
                   image_name=_get(picture, "name", str, ""), image_path=_get(picture, "path", str, ""),
                   target=_get(document, "target", int, -1), pinned=_get(document, "target_pinned", bool, False),
                   layer=_get(document, "layer", str, ""),
                   channel=_get(document, "channel", int, -1), tab=_get(document, "tab", str, ""),
                   panes=panes, version=_get(document, "cnnviz", str, ""))


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
