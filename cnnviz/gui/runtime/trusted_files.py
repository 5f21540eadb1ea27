"""Model files whose code the user has chosen to run on this machine, remembered by their SHA-256.

Loading a Python model file runs its code. Opening it by hand (*Open model file…*, ``--model``) is the user's
choice to run it; a session that names one is not (:mod:`cnnviz.gui.app.session_consent` asks). The files the
user chose are remembered here, in the app's settings (never in a session), by the checksum of their bytes, so
that the same file opens without a question and a changed one asks again.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.model import models
from cnnviz.gui.runtime.settings_store import open_settings

TRUSTED_KEY = "trusted_model_files"
"""Settings key of the list of trusted SHA-256 digests (hex)."""
MOST_REMEMBERED = 500
"""Digests kept (the oldest are forgotten first)."""
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Fingerprint:
    """A file's resolved ``path``, ``size`` in bytes and ``sha256`` (hex) of its contents."""

    path: Path
    size: int
    sha256: str


def fingerprint(path: str | Path) -> Fingerprint:
    """The :class:`Fingerprint` of the file at ``path`` (resolved); raises OSError."""
    resolved = Path(path).expanduser().resolve()
    digest = hashlib.sha256()
    with open(resolved, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return Fingerprint(resolved, resolved.stat().st_size, digest.hexdigest())


def runs_code(path: str | Path) -> bool:
    """True for a model whose loading executes Python code from a file: Python source (``.py`` in any
    case), or a training checkpoint whose base model is one (:func:`~cnnviz.core.model.models.code_to_run`)."""
    return models.code_to_run(path) is not None


def code_fingerprint(path: str | Path) -> Fingerprint:
    """The :class:`Fingerprint` of the Python file loading the model at ``path`` runs (the file itself
    when it runs none); raises OSError."""
    return fingerprint(models.code_to_run(path) or path)


def _trusted() -> list[str]:
    value = open_settings().value(TRUSTED_KEY, [])
    values = [value] if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
    return [str(v) for v in values]


def is_trusted(print_: Fingerprint) -> bool:
    """True when the user chose to run a file with these exact contents before."""
    return print_.sha256 in _trusted()


def trust(print_: Fingerprint) -> None:
    """Remember that the user chose to run a file with these contents."""
    kept = [digest for digest in _trusted() if digest != print_.sha256] + [print_.sha256]
    open_settings().setValue(TRUSTED_KEY, kept[-MOST_REMEMBERED:])


def trust_file(path: str | Path) -> None:
    """:func:`trust` the file at ``path`` when its loading runs code (nothing for other files or on OSError)."""
    if not runs_code(path):
        return
    try:
        trust(code_fingerprint(path))
    except OSError:
        return
