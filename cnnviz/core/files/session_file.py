"""Session files: what the app shows, saved to open again later (``.cnnviz``).

A session file is a zip archive holding ``session.json`` and, when there was one, the input image as
``image.png`` (lossless, so the network sees the same pixels). The JSON has the format name and
version, the model source (the bundled model, a zoo name with pretrained or untrained weights, or a
file path; with the checksum of the weights, :func:`cnnviz.core.files.caption.model_checksum`), the device,
the image's name and path, the target class, the shared layer and channel selection, the current tab,
every pane's settings (JSON values by pane key: ``panes``, the fields of the pane's analysis's ``Settings``;
``display``, the pane's own display values), the dataset the dataset tools work on (``dataset``: an image
folder's path or the Fashion-MNIST test set) and the report (``report``: each figure's title, caption
(:meth:`Caption.as_dict <cnnviz.core.files.caption.Caption.as_dict>`) and text, its PNG stored as
``report/NN.png``). Nothing is pickled: reading a session runs no code. :func:`read_session` raises
ValueError with a reason for anything that is not such a file; every member read is size-limited and every
PNG decoded before it is kept.

Format 1 (cnnviz before the report and dataset were saved) had every pane value in ``panes`` and no
``display``, ``dataset`` or ``report``; it is still read (:attr:`Session.dataset` and :attr:`Session.report`
are then None: not saved).
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
from cnnviz.core.files.caption import Caption
from cnnviz.core.files.report import ReportItem
from cnnviz.core.files.zip_members import read_json, read_member

FORMAT = "cnnviz-session"
VERSION = 2
SUFFIX = ".cnnviz"
JSON_NAME = "session.json"
NOT_SESSION = "not a cnnviz session: "
"""What a missing member's message starts with."""
IMAGE_NAME = "image.png"
REPORT_FOLDER = "report"
MAX_JSON_BYTES = 64 * 2**20
MAX_IMAGE_BYTES = 512 * 2**20
MAX_FIGURE_BYTES = 64 * 2**20
MAX_REPORT_BYTES = 512 * 2**20
"""Largest uncompressed members read: the JSON, the image, one report figure and all report figures together
(a damaged or hostile file is refused, not unpacked)."""
MAX_IMAGE_PIXELS = 200_000_000
MAX_REPORT_ITEMS = 1000

Source = Literal["default", "zoo", "file"]
DatasetKind = Literal["folder", "fashion-mnist"]


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


@dataclass(frozen=True)
class DatasetSource:
    """The dataset the dataset tools work on: ``kind`` ``"folder"`` (``path``: the image folder) or
    ``"fashion-mnist"`` (the installed Fashion-MNIST test set; ``path`` empty)."""

    kind: DatasetKind = "folder"
    path: str = ""


@dataclass(frozen=True, eq=False)
class Session:
    """What a session file holds; see the module docstring. ``image``: the input image (None: none);
    ``target``, ``channel``: -1 for none; ``pinned``: the target was chosen (else it follows the top-1
    class); ``panes``: each pane's analysis settings by pane key (format 1: all its values); ``display``: each
    pane's other values (display controls, computed curves) by pane key; ``dataset``: the dataset chosen (None:
    none, or not saved); ``report``: the report's figures in order (None: not saved, format 1)."""

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
    display: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset: DatasetSource | None = None
    report: tuple[ReportItem, ...] | None = None

    def pane_values(self) -> dict[str, dict[str, Any]]:
        """Every pane's settings and display values together, by pane key (as the pane gave them)."""
        keys = dict.fromkeys([*self.panes, *self.display])
        return {key: self.panes.get(key, {}) | self.display.get(key, {}) for key in keys}

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``session.json``."""
        model, dataset = self.model, self.dataset
        return {"format": FORMAT, "format_version": VERSION, "cnnviz": self.version,
                "model": {"source": model.kind, "name": model.name, "pretrained": model.pretrained,
                          "arch": model.arch, "checksum": model.checksum},
                "device": self.device, "image": {"name": self.image_name, "path": self.image_path,
                                                 "file": IMAGE_NAME if self.image is not None else None},
                "target": self.target, "target_pinned": self.pinned, "layer": self.layer,
                "channel": self.channel, "tab": self.tab,
                "panes": {key: dict(values) for key, values in self.panes.items()},
                "display": {key: dict(values) for key, values in self.display.items()},
                "dataset": None if dataset is None else {"kind": dataset.kind, "path": dataset.path},
                "report": None if self.report is None else [
                    {"title": item.title, "file": figure_name(number), "caption": item.caption.as_dict(),
                     "text": item.text} for number, item in enumerate(self.report, start=1)]}


def figure_name(number: int) -> str:
    """The member holding report figure ``number`` (from 1): ``report/01.png``."""
    return f"{REPORT_FOLDER}/{number:02d}.png"


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
        for number, item in enumerate(session.report or (), start=1):
            archive.writestr(figure_name(number), item.png, compress_type=zipfile.ZIP_STORED)
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
            report = _report(archive, document)
    except zipfile.BadZipFile:
        raise ValueError(f"{path.name} is not a cnnviz session (not a zip archive)") from None
    return _session(document, image, report)


def _document(archive: zipfile.ZipFile) -> dict[str, Any]:
    document = read_json(archive, JSON_NAME, MAX_JSON_BYTES, missing=NOT_SESSION)
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
    return _decoded(read_member(archive, IMAGE_NAME, MAX_IMAGE_BYTES, missing=NOT_SESSION), IMAGE_NAME)


def _decoded(data: bytes, name: str) -> Image.Image:
    """The PNG image ``data`` (member ``name``) decoded; ValueError if it is not one or is too large."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{name} is too large ({image.width}×{image.height})")
            image.load()
            return image.copy()
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name} is not a readable PNG image: {error}") from None


def _report(archive: zipfile.ZipFile, document: dict[str, Any]) -> tuple[ReportItem, ...] | None:
    """The report's figures (None where the session has no ``report``), each PNG checked by decoding it."""
    entries = document.get("report")
    if entries is None:
        return None
    if not isinstance(entries, list) or len(entries) > MAX_REPORT_ITEMS:
        raise ValueError(f"session.json: 'report' should be a list of at most {MAX_REPORT_ITEMS} figures")
    items, total = [], 0
    for number, entry in enumerate(entries, start=1):
        where = f"report figure {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"session.json: {where} is not a JSON object")
        name = _get(entry, "file", str, "")
        if not name:
            raise ValueError(f"session.json: {where} names no file")
        png = read_member(archive, name, MAX_FIGURE_BYTES, missing=NOT_SESSION)
        total += len(png)
        if total > MAX_REPORT_BYTES:
            raise ValueError(f"the report's figures are too large (over {MAX_REPORT_BYTES} bytes)")
        _decoded(png, name)
        try:
            caption = Caption.from_dict(entry.get("caption"))
        except ValueError as error:
            raise ValueError(f"session.json: {where}: {error}") from None
        items.append(ReportItem(_get(entry, "title", str, ""), png, caption, _get(entry, "text", str, "")))
    return tuple(items)


def _dataset(document: dict[str, Any]) -> DatasetSource | None:
    value = document.get("dataset")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"session.json: 'dataset' should be a JSON object, not {value!r}")
    kind = _get(value, "kind", str, "folder")
    if kind not in ("folder", "fashion-mnist"):
        raise ValueError(f"session.json: unknown dataset kind {kind!r}")
    return DatasetSource(kind, _get(value, "path", str, ""))


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


def _by_pane(document: dict[str, Any], key: str, what: str) -> dict[str, dict[str, Any]]:
    """``document[key]``: a JSON object of JSON objects (``what`` of each pane), by pane key."""
    values = _get(document, key, dict, {})
    bad = [pane for pane, items in values.items() if not isinstance(items, dict)]
    if bad:
        raise ValueError(f"session.json: the {what} of {', '.join(bad)} are not a JSON object")
    return values


def _session(document: dict[str, Any], image: Image.Image | None, report: tuple[ReportItem, ...] | None) -> Session:
    picture = _get(document, "image", dict, {})
    return Session(model=_model(document), device=_get(document, "device", str, "cpu"), image=image,
                   image_name=_get(picture, "name", str, ""), image_path=_get(picture, "path", str, ""),
                   target=_get(document, "target", int, -1), pinned=_get(document, "target_pinned", bool, False),
                   layer=_get(document, "layer", str, ""),
                   channel=_get(document, "channel", int, -1), tab=_get(document, "tab", str, ""),
                   panes=_by_pane(document, "panes", "settings"), version=_get(document, "cnnviz", str, ""),
                   display=_by_pane(document, "display", "display values"), dataset=_dataset(document), report=report)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
