"""What kind of model file a path holds, told from its name and first bytes before anything is read.

- ``"source"``: a Python file (``.py`` in any letter case);
- ``"torch-zip"``: PyTorch's zip format (one top folder holding ``data.pkl``), checked for its total
  uncompressed size and for the size of its pickle (the tensors' storages lie beside it, so a real one is
  small) from the zip's directory, before torch reads anything;
- ``"torch-legacy"``: PyTorch's older format, a pickle that starts with torch's magic number;
- anything else is not a model file (:class:`~cnnviz.core.model.zoo.ModelLoadError`).
"""

import zipfile
from pathlib import Path

from cnnviz.core.model.zoo import ModelLoadError

MAX_UNZIPPED_BYTES = 4 * 2**30
"""Largest total uncompressed size in bytes of a PyTorch zip file the loader opens."""
MAX_PICKLE_BYTES = 64 * 2**20
"""Largest uncompressed size in bytes of a PyTorch zip file's ``data.pkl``: it holds the structure (keys,
shapes, a whole model's classes), not the tensors; torch reads it whole into memory before unpickling."""

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C.to_bytes(10, "little")
"""torch.save's legacy format pickles this number first (as a 10-byte LONG1)."""
_PICKLE_PROTO, _LONG1 = 0x80, 0x8A


def model_file_kind(path: Path, *, max_unzipped_bytes: int | None = None) -> str:
    """``"source"``, ``"torch-zip"`` or ``"torch-legacy"`` for the file ``path``; a ModelLoadError for
    any other file, and for a zip that is not PyTorch's, would inflate beyond ``max_unzipped_bytes``
    (default :data:`MAX_UNZIPPED_BYTES`) or holds a pickle above :data:`MAX_PICKLE_BYTES`."""
    if path.suffix.lower() == ".py":
        return "source"
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError as error:
        raise ModelLoadError(f"{path.name} cannot be read ({error.strerror or error}).") from error
    if head.startswith(_ZIP_MAGIC):
        check_torch_zip(path, MAX_UNZIPPED_BYTES if max_unzipped_bytes is None else max_unzipped_bytes)
        return "torch-zip"
    if len(head) >= 14 and head[0] == _PICKLE_PROTO and head[2] == _LONG1 and head[3] == 10 \
            and head[4:14] == _LEGACY_MAGIC:
        return "torch-legacy"
    raise ModelLoadError(
        f"{path.name} is not a model file (not Python source ending in .py, and not a PyTorch weights "
        "file or model saved by torch.save)."
    )


def check_torch_zip(path: Path, max_bytes: int) -> None:
    """A ModelLoadError unless ``path`` is a zip laid out as torch.save writes it (one top folder with a
    ``data.pkl`` of at most :data:`MAX_PICKLE_BYTES`) whose members add up to at most ``max_bytes`` bytes
    uncompressed. Only the zip's directory is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelLoadError(f"{path.name} is a damaged zip file ({error}).") from error
    tops = {member.filename.split("/", 1)[0] for member in members}
    names = {member.filename for member in members}
    if len(tops) != 1 or f"{next(iter(tops))}/data.pkl" not in names:
        raise ModelLoadError(
            f"{path.name} is a zip file but not one saved by torch.save (no single folder with data.pkl)."
        )
    pickle = next(m for m in members if m.filename == f"{next(iter(tops))}/data.pkl")
    if pickle.file_size > MAX_PICKLE_BYTES:
        raise ModelLoadError(
            f"{path.name} holds a {pickle.file_size / 2**20:,.0f} MiB pickle (data.pkl); torch.save writes tensors "
            f"beside it, so a model file's pickle stays under {MAX_PICKLE_BYTES / 2**20:.0f} MiB. It is not opened."
        )
    total = sum(member.file_size for member in members)
    if total > max_bytes:
        raise ModelLoadError(
            f"{path.name} would inflate to {total / 2**30:.1f} GiB, more than the {max_bytes / 2**30:.1f} GiB "
            "a model file may hold; it is not opened."
        )
