"""The question before a session runs code: a session names a Python model file, and loading it executes it.

A session is a file people send each other; whoever can put a ``.py`` beside it could run code on the reader's
machine. So before a session loads a model whose loading runs code, :func:`consent_question` shows what would
run (the resolved path, its size and SHA-256) and asks; without a *yes* the rest of the session is restored on
the current model. A file the user chose to load on this machine before, with the same contents, opens without
asking (:mod:`cnnviz.gui.runtime.trusted_files`); so does every file under ``cnnviz --session FILE --trust``.
"""

from html import escape
from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox, QWidget

from cnnviz.gui.runtime.trusted_files import Fingerprint
from cnnviz.gui.widgets.dialogs import ChoiceDialog
from cnnviz.gui.widgets.labels import format_bytes

RUN_CODE = "Run it and load the model"
KEEP_MODEL = "Keep the current model"


def resolved_model_path(name: str, session_folder: Path | None) -> Path:
    """The model file a session names: ``name`` as it is when absolute, else relative to the session's folder
    (``..`` resolved), or to the working folder when the session's folder is not known."""
    path = Path(name).expanduser()
    if not path.is_absolute() and session_folder is not None:
        path = session_folder / path
    return path.resolve()


def consent_question(parent: QWidget | None, print_: Fingerprint, session: str) -> ChoiceDialog:
    """The question (window-modal, opened by the caller) whether to run the model file ``print_`` that the
    session named ``session`` loads: ``chosen("run")`` or ``chosen("")``."""
    message = (f"The session <b>{escape(session)}</b> loads its model from a Python file. Loading it runs the "
               "code in that file with your permissions:<br><br>"
               f"<tt>{escape(str(print_.path))}</tt><br>{escape(format_bytes(print_.size))} · "
               f"SHA-256 <tt>{print_.sha256[:16]}…</tt><br><br>Only run it if you know where the session and "
               "the file come from. Otherwise the session's image, settings and report are restored on the "
               "current model.")
    dialog = ChoiceDialog(parent, "Run the session's model code?", message)
    dialog.message.setToolTip(f"SHA-256 {print_.sha256}")
    dialog.add_choice("run", RUN_CODE, QDialogButtonBox.ButtonRole.AcceptRole)
    dialog.add_choice("", KEEP_MODEL, QDialogButtonBox.ButtonRole.RejectRole, default=True)
    return dialog
