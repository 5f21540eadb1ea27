"""A searchable class picker: every class of the model by name, typed text matching anywhere in the name."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from cnnviz.core.model.models import LoadedModel


class ClassSearch(QComboBox):
    """An editable combo box of the model's classes (item data: the class index); typing filters the names
    (case-insensitive, anywhere in the name). ``chosen(index)`` is emitted when the user picks a class."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None, placeholder: str = "Search a class…") -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line_edit, completer = self.lineEdit(), self.completer()
        assert line_edit is not None and completer is not None  # an editable combo box has both
        line_edit.setPlaceholderText(placeholder)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setToolTip("Pick any class as the target")
        self._model: LoadedModel | None = None
        self._count = -1
        self.activated.connect(self._activated)

    def fill(self, model: LoadedModel | None, count: int) -> None:
        """List the ``count`` classes of ``model`` (nothing for None); a no-op when they are listed already."""
        count = count if model is not None else -1
        if model is self._model and count == self._count:
            return
        self.blockSignals(True)
        self.clear()
        if model is not None:
            for index in range(count):
                self.addItem(model.class_name(index), index)
        self.setCurrentIndex(-1)
        self.blockSignals(False)
        self._model, self._count = model, count

    def show_class(self, index: int) -> None:
        """Show class ``index`` as the current choice (without emitting ``chosen``)."""
        row = self.findData(index)
        if row >= 0:
            self.blockSignals(True)
            self.setCurrentIndex(row)
            self.blockSignals(False)

    def _activated(self, row: int) -> None:
        index = self.itemData(row)
        if index is not None:
            self.chosen.emit(int(index))
