"""Answering the *Export figure* dialog in tests (it is modal): with a file and formats, or through its
*Browse…* file dialog (which the tests answer by patching ``QFileDialog.getSaveFileName``)."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from cnnviz.gui.widgets.figure_export_dialog import FigureExportDialog
from cnnviz.gui.widgets.figure_render import ExportOptions


def answer_export(monkeypatch: pytest.MonkeyPatch, path: str | Path, formats: Sequence[str] = ("png",),
                  options: ExportOptions | None = None, asked: list | None = None) -> None:
    """Make the dialog save at ``path`` in ``formats`` (with ``options``) as soon as it opens; each
    dialog is appended to ``asked`` before it is answered."""

    def answer(dialog: FigureExportDialog) -> int:
        if asked is not None:
            asked.append((dialog.file.text(), dialog.formats(), dialog.options()))
        dialog.file.setText(str(path))
        for suffix, check in dialog.checks.items():
            check.setChecked(suffix in formats)
        if options is not None:
            dialog.set_options(options)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(FigureExportDialog, "exec", answer)


def answer_export_by_browsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the dialog ask for its file with *Browse…* and save there (cancelled if none is chosen)."""

    def answer(dialog: FigureExportDialog) -> int:
        before = dialog.file.text()
        dialog.browse()
        changed = dialog.file.text() != before
        return QDialog.DialogCode.Accepted if changed else QDialog.DialogCode.Rejected

    monkeypatch.setattr(FigureExportDialog, "exec", answer)
