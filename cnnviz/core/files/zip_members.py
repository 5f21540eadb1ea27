"""Reading members of a zip archive with their size checked from its directory first (a small file can
inflate to gigabytes): the shared reader of session files and the report's autosave."""

import json
import zipfile
from typing import Any


def read_member(archive: zipfile.ZipFile, name: str, limit: int, *, missing: str = "") -> bytes:
    """The bytes of member ``name`` of ``archive``; a ValueError when it is missing (``missing`` before
    "<name> is missing") or would inflate beyond ``limit`` bytes."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{missing}{name} is missing") from None
    if info.file_size > limit:
        raise ValueError(f"{name} is too large ({info.file_size} bytes)")
    return archive.read(info)


def read_json(archive: zipfile.ZipFile, name: str, limit: int, *, missing: str = "") -> Any:
    """Member ``name`` of ``archive`` parsed as UTF-8 JSON (:func:`read_member`); a ValueError saying why
    it is not valid JSON."""
    try:
        return json.loads(read_member(archive, name, limit, missing=missing).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{name} is not valid JSON: {error}") from None
